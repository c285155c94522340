#include "cloister/core/process.h"

#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <spawn.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

extern char** environ;

namespace cloister {

Result<ChildProcess> ChildProcess::spawn(const ProcessOptions& options) {
  if (options.arguments.empty()) return fail(ErrorCode::invalid_argument, "no executable");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (!options.output_file.empty()) {
    posix_spawn_file_actions_addopen(&actions, 1, options.output_file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
  }
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  // The child starts with default signal handling and an empty mask, whatever the parent blocks.
  sigset_t empty;
  sigemptyset(&empty);
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGINT);
  sigaddset(&defaults, SIGTERM);
  sigaddset(&defaults, SIGPIPE);
  posix_spawnattr_setsigmask(&attributes, &empty);
  posix_spawnattr_setsigdefault(&attributes, &defaults);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  // The parent's environment, with the extra variables replacing any of the same name.
  auto overridden = [&](std::string_view entry) {
    for (const auto& extra : options.extra_environment) {
      auto name = extra.substr(0, extra.find('=') + 1);
      if (entry.starts_with(name)) return true;
    }
    return false;
  };
  std::vector<std::string> environment_strings;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    if (!overridden(*entry)) environment_strings.emplace_back(*entry);
  }
  environment_strings.insert(environment_strings.end(), options.extra_environment.begin(),
                             options.extra_environment.end());
  std::vector<char*> environment;
  for (auto& entry : environment_strings) environment.push_back(entry.data());
  environment.push_back(nullptr);
  std::vector<std::string> argument_strings = options.arguments;
  std::vector<char*> arguments;
  for (auto& argument : argument_strings) arguments.push_back(argument.data());
  arguments.push_back(nullptr);

  pid_t pid = -1;
  int result = posix_spawn(&pid, arguments[0], &actions, &attributes, arguments.data(), environment.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  if (result != 0) {
    return fail(ErrorCode::io_error, "cannot start " + options.arguments[0] + ": " + std::strerror(result));
  }
  return ChildProcess(pid);
}

ChildProcess::ChildProcess(ChildProcess&& other) noexcept : pid_(other.pid_), status_(other.status_) {
  other.pid_ = -1;
}

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
  if (this != &other) {
    if (pid_ > 0 && !status_) stop(std::chrono::milliseconds(5000));
    pid_ = other.pid_;
    status_ = other.status_;
    other.pid_ = -1;
  }
  return *this;
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0 && !status_) stop(std::chrono::milliseconds(5000));
}

std::optional<int> ChildProcess::poll() {
  if (status_ || pid_ <= 0) return status_;
  int raw = 0;
  pid_t result = ::waitpid(pid_, &raw, WNOHANG);
  if (result == pid_) {
    status_ = WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
  } else if (result < 0) {
    status_ = -1;
  }
  return status_;
}

std::optional<int> ChildProcess::wait_for(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!poll()) {
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return status_;
}

int ChildProcess::stop(std::chrono::milliseconds grace, int signal) {
  if (pid_ <= 0) return -1;
  if (!poll()) {
    ::kill(pid_, signal);
    if (!wait_for(grace)) {
      ::kill(pid_, SIGKILL);
      wait_for(std::chrono::milliseconds(5000));
    }
  }
  return status_.value_or(-1);
}

Result<std::uint16_t> wait_for_port_file(const std::string& path, std::chrono::milliseconds timeout,
                                         ChildProcess* process) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    std::ifstream in(path);
    int port = 0;
    if (in >> port && port > 0 && port < 65536) return static_cast<std::uint16_t>(port);
    if (process != nullptr && !process->running()) {
      return fail(ErrorCode::unavailable, "process exited before listening (status " +
                                              std::to_string(process->poll().value_or(-1)) + ")");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  return fail(ErrorCode::unavailable, "no port in " + path + " within the timeout");
}

}  // namespace cloister
