#include "cloister/core/log.h"

#include <nlohmann/json.hpp>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <mutex>

namespace cloister::log {
namespace {

struct State {
  std::mutex mutex;
  std::string service = "cloister";
  Level min_level = Level::info;
  std::shared_ptr<spdlog::logger> logger;
};

State& state() {
  static State s;
  return s;
}

std::shared_ptr<spdlog::logger> logger() {
  auto& s = state();
  std::lock_guard lock(s.mutex);
  if (!s.logger) {
    s.logger = std::make_shared<spdlog::logger>("cloister", std::make_shared<spdlog::sinks::stderr_sink_mt>());
    s.logger->set_pattern("%v");
    s.logger->set_level(spdlog::level::trace);
  }
  return s.logger;
}

const char* level_name(Level level) {
  switch (level) {
    case Level::debug: return "debug";
    case Level::info: return "info";
    case Level::warn: return "warn";
    case Level::error: return "error";
  }
  return "info";
}

std::string iso_time() {
  auto now = std::chrono::system_clock::now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  std::time_t seconds = ms / 1000;
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buffer[96];
  std::snprintf(buffer, sizeof buffer, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms % 1000));
  return buffer;
}

}  // namespace

void configure(std::string_view service, Level min_level, const std::string& path) {
  std::shared_ptr<spdlog::sinks::sink> sink;
  if (path.empty()) {
    sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  } else {
    sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(path);
  }
  auto new_logger = std::make_shared<spdlog::logger>("cloister", sink);
  new_logger->set_pattern("%v");
  new_logger->set_level(spdlog::level::trace);
  new_logger->flush_on(spdlog::level::warn);
  auto& s = state();
  std::lock_guard lock(s.mutex);
  s.service = service;
  s.min_level = min_level;
  s.logger = std::move(new_logger);
}

Level parse_level(std::string_view name) {
  if (name == "debug") return Level::debug;
  if (name == "warn") return Level::warn;
  if (name == "error") return Level::error;
  return Level::info;
}

std::string render(Level level, std::string_view message, const nlohmann::json& fields) {
  nlohmann::json line = nlohmann::json::object();
  line["ts"] = iso_time();
  line["level"] = level_name(level);
  {
    auto& s = state();
    std::lock_guard lock(s.mutex);
    line["service"] = s.service;
  }
  line["msg"] = message;
  if (fields.is_object()) {
    for (const auto& [key, value] : fields.items()) {
      if (!line.contains(key)) line[key] = value;
    }
  }
  return line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void write(Level level, std::string_view message, const nlohmann::json& fields) {
  {
    auto& s = state();
    std::lock_guard lock(s.mutex);
    if (level < s.min_level) return;
  }
  logger()->log(spdlog::level::info, render(level, message, fields));
}

void debug(std::string_view message, const nlohmann::json& fields) { write(Level::debug, message, fields); }
void info(std::string_view message, const nlohmann::json& fields) { write(Level::info, message, fields); }
void warn(std::string_view message, const nlohmann::json& fields) { write(Level::warn, message, fields); }
void error(std::string_view message, const nlohmann::json& fields) { write(Level::error, message, fields); }
void debug(std::string_view message) { write(Level::debug, message, nlohmann::json::object()); }
void info(std::string_view message) { write(Level::info, message, nlohmann::json::object()); }
void warn(std::string_view message) { write(Level::warn, message, nlohmann::json::object()); }
void error(std::string_view message) { write(Level::error, message, nlohmann::json::object()); }

void flush() { logger()->flush(); }

}  // namespace cloister::log
