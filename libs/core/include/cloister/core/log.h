#pragma once
// Structured JSON logging: one JSON object per line on stderr (or a file), built on spdlog.
//   log::info("request done", {{"request_id", id}, {"status", 200}});
// Fields are JSON values; Sensitive<T> has no JSON conversion, so PHI, keys and tokens cannot be
// added as fields by mistake (it does not compile), and formatting one prints "[redacted]".

#include <nlohmann/json_fwd.hpp>

#include <string>
#include <string_view>

namespace cloister::log {

enum class Level { debug, info, warn, error };

// Configures the process-wide logger: service name (in every line), minimum level, and an optional
// file path (empty: stderr). Safe to call once at start-up; the default is stderr at info.
void configure(std::string_view service, Level min_level = Level::info, const std::string& path = {});
Level parse_level(std::string_view name);  // "debug" | "info" | "warn" | "error"; info otherwise

void write(Level level, std::string_view message, const nlohmann::json& fields);
void debug(std::string_view message, const nlohmann::json& fields);
void info(std::string_view message, const nlohmann::json& fields);
void warn(std::string_view message, const nlohmann::json& fields);
void error(std::string_view message, const nlohmann::json& fields);
void debug(std::string_view message);
void info(std::string_view message);
void warn(std::string_view message);
void error(std::string_view message);

// Flushes buffered lines (called at shutdown).
void flush();

// Renders one log line (exposed for tests): {"ts":…,"level":…,"service":…,"msg":…, fields…}.
std::string render(Level level, std::string_view message, const nlohmann::json& fields);

}  // namespace cloister::log
