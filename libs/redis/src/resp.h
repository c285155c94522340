#pragma once
// RESP (REdis Serialization Protocol): the command encoder and an incremental, bounded reply
// parser. RESP2 plus the RESP3 types Redis 7 may send, mapped onto Reply:
//   + simple_string   - error   : integer   $ bulk_string (or null for $-1)   * array (or null for *-1)
//   _ null   # boolean → integer 1/0   , double → bulk_string (its text)   ( big number → bulk_string
//   = verbatim string → bulk_string (the "txt:" format prefix removed)   ! blob error → error
//   % map → array of alternating key, value   ~ set → array   > push → array   | attribute: skipped
// Anything else, or input beyond the limits, fails the parser for good: the caller drops the connection.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cloister/core/error.h"
#include "cloister/redis/client.h"

namespace cloister::redis::resp {

inline constexpr std::size_t kMaxBulkSize = 512u * 1024 * 1024;  // Redis' own proto-max-bulk-len
inline constexpr std::size_t kMaxLineSize = 64u * 1024;           // a header or simple line
inline constexpr std::size_t kMaxDepth = 64;                      // nested aggregates
inline constexpr std::int64_t kMaxElements = 16 * 1024 * 1024;   // per aggregate

// *<n>\r\n then $<len>\r\n<bytes>\r\n per argument (binary-safe), appended to `out`.
void encode_command(const std::vector<std::string>& arguments, std::string& out);
std::string encode_command(const std::vector<std::string>& arguments);

class Parser {
 public:
  // Adds received bytes.
  void feed(std::string_view data);
  // The next complete reply; nullopt when more bytes are needed. redis_unavailable (with the reason)
  // on malformed or oversized input; the parser then stays failed.
  Result<std::optional<Reply>> next();
  // Bytes received but not yet consumed by a complete reply (partial replies count).
  std::size_t buffered() const { return buffer_.size() - position_; }
  bool failed() const { return failed_; }

 private:
  struct Frame {
    Reply reply;
    std::int64_t remaining = 0;
    bool attribute = false;
  };
  Result<std::optional<Reply>> fail_with(std::string reason);

  std::string buffer_;
  std::size_t position_ = 0;
  std::vector<Frame> stack_;
  bool failed_ = false;
};

}  // namespace cloister::redis::resp
