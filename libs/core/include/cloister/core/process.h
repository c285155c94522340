#pragma once
// A child process started with posix_spawn and stopped by its process id — never by name.
// Used by `cloister up` to supervise the services and by the integration tests.

#include "cloister/core/error.h"

#include <chrono>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace cloister {

struct ProcessOptions {
  std::vector<std::string> arguments;  // arguments[0] is the executable path
  std::string output_file;             // stdout and stderr appended here; empty: inherited
  std::vector<std::string> extra_environment;  // "NAME=value": added to the parent's, replacing a same-named one
};

class ChildProcess {
 public:
  static Result<ChildProcess> spawn(const ProcessOptions& options);
  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&& other) noexcept;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  // Stops the process (SIGTERM, then SIGKILL after 5 s) if it still runs.
  ~ChildProcess();

  pid_t pid() const { return pid_; }
  // Non-blocking: the exit status once the process has ended (128+signal when killed).
  std::optional<int> poll();
  // Waits up to `timeout` for the process to end.
  std::optional<int> wait_for(std::chrono::milliseconds timeout);
  // SIGTERM (or `signal`), then SIGKILL if it has not ended within `grace`; returns the status.
  int stop(std::chrono::milliseconds grace, int signal = 15);
  bool running() { return !poll().has_value(); }

 private:
  explicit ChildProcess(pid_t pid) : pid_(pid) {}
  pid_t pid_ = -1;
  std::optional<int> status_;
};

// Waits (bounded) for a file to exist and hold a port number; returns it.
Result<std::uint16_t> wait_for_port_file(const std::string& path, std::chrono::milliseconds timeout,
                                         ChildProcess* process = nullptr);

}  // namespace cloister
