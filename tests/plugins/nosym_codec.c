/*
** blockpipe-codec-nosym: a shared object named like a plugin that exports no
** blockpipe_plugin_entry (a library dropped in the wrong directory). Loading must fail with a
** message saying it is not a blockpipe plugin.
*/
__attribute__((visibility("default"))) int blockpipe_something_else(void) { return 42; }
