// New-password input for change-password (see password_input.h). Echo is turned off only on
// the terminal the password is typed on, and restored on every path out, including Ctrl-C: a
// shell left without echo is the classic bug of password prompts.
#include "cli/password_input.h"

#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <iostream>

namespace bp::cli {
namespace {

void Wipe(std::string* s) {
  if (!s->empty()) explicit_bzero(s->data(), s->size());
  s->clear();
}

// Editors and `echo` end files with a newline that is not part of the password.
void DropOneTrailingNewline(std::string* text) {
  if (!text->empty() && text->back() == '\n') {
    text->pop_back();
    if (!text->empty() && text->back() == '\r') text->pop_back();
  }
}

// Room reserved up front so that growing the string never leaves an unwiped copy of a
// password behind in freed memory (any real password fits).
constexpr size_t kReservedPasswordBytes = 4096;

// Read all of fd (up to the limit) into *out.
Status ReadAll(int fd, const std::string& what, std::string* out) {
  out->reserve(kReservedPasswordBytes);
  char chunk[4096];
  for (;;) {
    const ssize_t n = ::read(fd, chunk, sizeof chunk);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      explicit_bzero(chunk, sizeof chunk);
      return Status::Invalid("cannot read " + what + ": " + std::strerror(errno));
    }
    out->append(chunk, static_cast<size_t>(n));
    if (out->size() > kMaxPasswordBytes) {
      explicit_bzero(chunk, sizeof chunk);
      return Status::Invalid(what + " holds more than 64KiB; it should hold just the password");
    }
  }
  explicit_bzero(chunk, sizeof chunk);
  return Status::Ok();
}

// The terminal settings to restore if a signal arrives while echo is off.
struct termios g_saved_termios;
volatile sig_atomic_t g_echo_off = 0;

void RestoreAndReraise(int sig) {
  if (g_echo_off != 0) ::tcsetattr(STDIN_FILENO, TCSANOW, &g_saved_termios);
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

// One line from the terminal with echo off. Echo goes off (discarding anything typed before)
// and only then does the prompt appear, so what is typed after the prompt is never lost; the
// settings come back without discarding input, so a fast typist's next answer survives too.
Status ReadHiddenLine(const char* prompt, std::string* out) {
  out->reserve(kReservedPasswordBytes);
  struct termios hidden;
  if (::tcgetattr(STDIN_FILENO, &g_saved_termios) != 0) {
    return Status::Invalid(std::string("cannot read the terminal settings: ") +
                           std::strerror(errno));
  }
  hidden = g_saved_termios;
  hidden.c_lflag &= ~static_cast<tcflag_t>(ECHO);
  hidden.c_lflag |= ECHONL;
  struct sigaction action {
  }, old_int{}, old_term{}, old_hup{};
  action.sa_handler = RestoreAndReraise;
  sigemptyset(&action.sa_mask);
  ::sigaction(SIGINT, &action, &old_int);
  ::sigaction(SIGTERM, &action, &old_term);
  ::sigaction(SIGHUP, &action, &old_hup);
  g_echo_off = 1;
  ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &hidden);
  std::cerr << prompt << std::flush;
  Status st;
  for (;;) {
    char c = 0;
    const ssize_t n = ::read(STDIN_FILENO, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (out->empty()) st = Status::Invalid("no password entered (end of input)");
      break;
    }
    if (c == '\n') break;
    out->push_back(c);
    if (out->size() > kMaxPasswordBytes) {
      st = Status::Invalid("the password is longer than 64KiB");
      break;
    }
  }
  ::tcsetattr(STDIN_FILENO, TCSANOW, &g_saved_termios);
  g_echo_off = 0;
  ::sigaction(SIGINT, &old_int, nullptr);
  ::sigaction(SIGTERM, &old_term, nullptr);
  ::sigaction(SIGHUP, &old_hup, nullptr);
  if (!out->empty() && out->back() == '\r') out->pop_back();
  return st;
}

Status CheckNotEmpty(const std::string& password, const std::string& source) {
  if (password.empty()) {
    return Status::Invalid("the new password from " + source +
                           " is empty; an empty password protects nothing");
  }
  return Status::Ok();
}

}  // namespace

SecretText::~SecretText() { Wipe(&value_); }

Status ReadPasswordFile(const std::filesystem::path& path, SecretText* out) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::Invalid("cannot open " + path.string() + ": " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) == 0 && (st.st_mode & 077) != 0 && S_ISREG(st.st_mode)) {
    std::cerr << "blockpipe: warning: " << path.string()
              << " is readable by other users; chmod 600 it\n";
  }
  Status read = ReadAll(fd, path.string(), &out->value());
  ::close(fd);
  if (!read.ok()) {
    Wipe(&out->value());
    return read;
  }
  DropOneTrailingNewline(&out->value());
  return CheckNotEmpty(out->value(), path.string());
}

Status ReadPasswordFromStdin(SecretText* out) {
  if (::isatty(STDIN_FILENO) == 0) {
    Status read = ReadAll(STDIN_FILENO, "standard input", &out->value());
    if (!read.ok()) {
      Wipe(&out->value());
      return read;
    }
    DropOneTrailingNewline(&out->value());
    return CheckNotEmpty(out->value(), "standard input");
  }
  SecretText again;
  Status st = ReadHiddenLine("New password: ", &out->value());
  if (st.ok()) st = CheckNotEmpty(out->value(), "the terminal");
  if (st.ok()) st = ReadHiddenLine("Repeat the new password: ", &again.value());
  if (st.ok() && again.value() != out->value()) {
    st = Status::Invalid("the two entries differ; nothing was changed");
  }
  if (!st.ok()) Wipe(&out->value());
  return st;
}

}  // namespace bp::cli
