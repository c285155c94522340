#include "resp.h"

#include <algorithm>
#include <charconv>

namespace cloister::redis::resp {
namespace {

// A RESP integer or length: optional '-', decimal digits, nothing else, within int64.
std::optional<std::int64_t> parse_integer(std::string_view text) {
  if (text.empty() || text == "-") return std::nullopt;
  std::int64_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

Reply make_string(Reply::Type type, std::string_view text) {
  Reply reply;
  reply.type = type;
  reply.string.assign(text);
  return reply;
}

}  // namespace

void encode_command(const std::vector<std::string>& arguments, std::string& out) {
  out += '*';
  out += std::to_string(arguments.size());
  out += "\r\n";
  for (const auto& argument : arguments) {
    out += '$';
    out += std::to_string(argument.size());
    out += "\r\n";
    out += argument;
    out += "\r\n";
  }
}

std::string encode_command(const std::vector<std::string>& arguments) {
  std::string out;
  encode_command(arguments, out);
  return out;
}

void Parser::feed(std::string_view data) {
  // Drop consumed bytes when that is cheap relative to what stays (amortized linear).
  if (position_ > 0 && position_ * 2 >= buffer_.size()) {
    buffer_.erase(0, position_);
    position_ = 0;
  }
  buffer_.append(data);
}

Result<std::optional<Reply>> Parser::fail_with(std::string reason) {
  failed_ = true;
  stack_.clear();
  return fail(ErrorCode::redis_unavailable, "malformed reply from Redis: " + reason);
}

Result<std::optional<Reply>> Parser::next() {
  if (failed_) return fail(ErrorCode::redis_unavailable, "the reply stream is broken");
  for (;;) {
    if (position_ >= buffer_.size()) return std::optional<Reply>();
    auto end_of_line = buffer_.find("\r\n", position_);
    if (end_of_line == std::string::npos) {
      if (buffer_.size() - position_ > kMaxLineSize + 1) return fail_with("line too long");
      return std::optional<Reply>();
    }
    if (end_of_line - position_ > kMaxLineSize + 1) return fail_with("line too long");
    const char type = buffer_[position_];
    const std::string_view line(buffer_.data() + position_ + 1, end_of_line - position_ - 1);
    const std::size_t after_line = end_of_line + 2;
    std::size_t next_position = after_line;

    std::optional<Reply> value;
    switch (type) {
      case '+':
        value = make_string(Reply::Type::simple_string, line);
        break;
      case '-':
        value = make_string(Reply::Type::error, line);
        break;
      case ':': {
        auto integer = parse_integer(line);
        if (!integer) return fail_with("bad integer");
        value = Reply{};
        value->type = Reply::Type::integer;
        value->integer = *integer;
        break;
      }
      case '_':
        if (!line.empty()) return fail_with("bad null");
        value = Reply{};
        break;
      case '#':
        if (line != "t" && line != "f") return fail_with("bad boolean");
        value = Reply{};
        value->type = Reply::Type::integer;
        value->integer = line == "t" ? 1 : 0;
        break;
      case ',':
        if (line.empty()) return fail_with("bad double");
        value = make_string(Reply::Type::bulk_string, line);
        break;
      case '(':
        if (line.empty() || line == "-" ||
            !std::all_of(line.begin() + (line.front() == '-' ? 1 : 0), line.end(),
                         [](char c) { return c >= '0' && c <= '9'; })) {
          return fail_with("bad big number");
        }
        value = make_string(Reply::Type::bulk_string, line);
        break;
      case '$':
      case '=':
      case '!': {
        auto length = parse_integer(line);
        if (!length) return fail_with("bad bulk length");
        if (*length == -1 && type == '$') {
          value = Reply{};  // RESP2 null bulk string
          break;
        }
        if (*length < 0) return fail_with("negative bulk length");
        if (static_cast<std::uint64_t>(*length) > kMaxBulkSize) return fail_with("bulk string over 512 MiB");
        const auto size = static_cast<std::size_t>(*length);
        if (buffer_.size() - after_line < size + 2) return std::optional<Reply>();  // wait for the rest
        if (buffer_[after_line + size] != '\r' || buffer_[after_line + size + 1] != '\n') {
          return fail_with("bulk string not terminated by CRLF");
        }
        std::string_view data(buffer_.data() + after_line, size);
        if (type == '=') {
          if (data.size() < 4 || data[3] != ':') return fail_with("bad verbatim string");
          data.remove_prefix(4);
        }
        value = make_string(type == '!' ? Reply::Type::error : Reply::Type::bulk_string, data);
        next_position = after_line + size + 2;
        break;
      }
      case '*':
      case '~':
      case '>':
      case '%':
      case '|': {
        auto count = parse_integer(line);
        if (!count) return fail_with("bad aggregate length");
        if (*count == -1 && type == '*') {
          value = Reply{};  // RESP2 null array
          break;
        }
        if (*count < 0) return fail_with("negative aggregate length");
        if (*count > kMaxElements) return fail_with("aggregate with more than 16M elements");
        const std::int64_t elements = (type == '%' || type == '|') ? *count * 2 : *count;
        if (elements == 0) {
          position_ = after_line;
          if (type == '|') continue;  // an empty attribute: nothing to skip
          value = Reply{};
          value->type = Reply::Type::array;
          break;
        }
        if (stack_.size() >= kMaxDepth) return fail_with("aggregates nested deeper than 64");
        Frame frame;
        frame.reply.type = Reply::Type::array;
        frame.reply.elements.reserve(static_cast<std::size_t>(std::min<std::int64_t>(elements, 1024)));
        frame.remaining = elements;
        frame.attribute = type == '|';
        stack_.push_back(std::move(frame));
        position_ = after_line;
        continue;
      }
      default:
        return fail_with("unknown type byte");
    }
    position_ = next_position;

    // A complete value: it completes the enclosing aggregates as far as it goes.
    while (value) {
      if (stack_.empty()) return value;
      Frame& top = stack_.back();
      top.reply.elements.push_back(std::move(*value));
      value.reset();
      if (--top.remaining > 0) break;
      Frame done = std::move(top);
      stack_.pop_back();
      if (!done.attribute) value = std::move(done.reply);  // an attribute is metadata: dropped
    }
  }
}

}  // namespace cloister::redis::resp
