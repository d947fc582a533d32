// The ABI layout pins (abi_layout_pins.c) compiled as C++: a C++ plugin sees the same layout.
#include "abi_layout_pins.c"
