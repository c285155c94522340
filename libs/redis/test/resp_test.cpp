// The RESP encoder and the incremental parser: every type, every split point, malformed and
// oversized input refused (redis_unavailable), never undefined behaviour.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "resp.h"

namespace cloister::redis {
namespace {

// Parses `input` fed in one piece; every complete reply, then the trailing state.
std::vector<Reply> parse_all(std::string_view input) {
  resp::Parser parser;
  parser.feed(input);
  std::vector<Reply> replies;
  for (;;) {
    auto next = parser.next();
    EXPECT_TRUE(next.has_value()) << next.error().to_string();
    if (!next || !*next) break;
    replies.push_back(std::move(**next));
  }
  return replies;
}

Error parse_error(std::string_view input) {
  resp::Parser parser;
  parser.feed(input);
  for (int i = 0; i < 1000; ++i) {
    auto next = parser.next();
    if (!next) {
      EXPECT_TRUE(parser.failed());
      return next.error();
    }
    if (!*next) break;
  }
  ADD_FAILURE() << "no error for input of " << input.size() << " bytes";
  return Error{};
}

// A compact rendering to compare replies.
std::string show(const Reply& reply) {
  switch (reply.type) {
    case Reply::Type::simple_string: return "+" + reply.string;
    case Reply::Type::error: return "-" + reply.string;
    case Reply::Type::integer: return ":" + std::to_string(reply.integer);
    case Reply::Type::bulk_string: return "$" + reply.string;
    case Reply::Type::null: return "nil";
    case Reply::Type::array: {
      std::string out = "[";
      for (std::size_t i = 0; i < reply.elements.size(); ++i) out += (i ? "," : "") + show(reply.elements[i]);
      return out + "]";
    }
  }
  return "?";
}

std::string show_all(const std::vector<Reply>& replies) {
  std::string out;
  for (const auto& reply : replies) out += show(reply) + ";";
  return out;
}

TEST(RespEncoderTest, EncodesArraysOfBinarySafeBulkStrings) {
  std::string nul_value("a\r\n\0b", 5);
  static constexpr char kExpected[] = "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\na\r\n\0b\r\n";
  EXPECT_EQ(resp::encode_command({"SET", "k", nul_value}), std::string(kExpected, sizeof kExpected - 1));
  EXPECT_EQ(resp::encode_command({"PING", ""}), "*2\r\n$4\r\nPING\r\n$0\r\n\r\n");
  std::string appended = "x";
  resp::encode_command({"GET", "a"}, appended);
  EXPECT_EQ(appended, "x*2\r\n$3\r\nGET\r\n$1\r\na\r\n");
}

TEST(RespParserTest, ParsesEveryResp2Type) {
  EXPECT_EQ(show_all(parse_all("+OK\r\n")), "+OK;");
  EXPECT_EQ(show_all(parse_all("-ERR wrong\r\n")), "-ERR wrong;");
  EXPECT_EQ(show_all(parse_all(":0\r\n:-42\r\n:9223372036854775807\r\n:-9223372036854775808\r\n")),
            ":0;:-42;:9223372036854775807;:-9223372036854775808;");
  EXPECT_EQ(show_all(parse_all("$5\r\nhello\r\n$0\r\n\r\n$-1\r\n")), "$hello;$;nil;");
  EXPECT_EQ(show_all(parse_all("*2\r\n$1\r\na\r\n:1\r\n*0\r\n*-1\r\n")), "[$a,:1];[];nil;");
  EXPECT_EQ(show_all(parse_all("*2\r\n*1\r\n+x\r\n*2\r\n$-1\r\n-E\r\n")), "[[+x],[nil,-E]];");
  auto binary = parse_all(std::string("$4\r\n\r\n\0\xff\r\n", 10));
  ASSERT_EQ(binary.size(), 1u);
  EXPECT_EQ(binary[0].string, std::string("\r\n\0\xff", 4));
}

TEST(RespParserTest, MapsResp3Types) {
  EXPECT_EQ(show_all(parse_all("_\r\n")), "nil;");
  EXPECT_EQ(show_all(parse_all("#t\r\n#f\r\n")), ":1;:0;");
  EXPECT_EQ(show_all(parse_all(",3.14\r\n,inf\r\n,-1e10\r\n")), "$3.14;$inf;$-1e10;");
  EXPECT_EQ(show_all(parse_all("(3492890328409238509324850943850943825024385\r\n")),
            "$3492890328409238509324850943850943825024385;");
  EXPECT_EQ(show_all(parse_all("=15\r\ntxt:Some string\r\n")), "$Some string;");
  EXPECT_EQ(show_all(parse_all("!21\r\nSYNTAX invalid syntax\r\n")), "-SYNTAX invalid syntax;");
  EXPECT_EQ(show_all(parse_all("%2\r\n+first\r\n:1\r\n+second\r\n#t\r\n")), "[+first,:1,+second,:1];");
  EXPECT_EQ(show_all(parse_all("~2\r\n+a\r\n+b\r\n>2\r\n+message\r\n$1\r\nx\r\n%0\r\n")), "[+a,+b];[+message,$x];[];");
  // An attribute is metadata about the next reply: skipped, also inside an aggregate.
  EXPECT_EQ(show_all(parse_all("|1\r\n+key\r\n+value\r\n:7\r\n")), ":7;");
  EXPECT_EQ(show_all(parse_all("*2\r\n|1\r\n+k\r\n*1\r\n:1\r\n:2\r\n:3\r\n|0\r\n+z\r\n")), "[:2,:3];+z;");
}

TEST(RespParserTest, EverySplitPointGivesTheSameReplies) {
  static constexpr char kStream[] =
      "+OK\r\n-ERR x\r\n:123\r\n$6\r\nab\r\ncd\r\n$-1\r\n*3\r\n$1\r\na\r\n*1\r\n:5\r\n_\r\n"
      "#t\r\n,1.5\r\n(12\r\n=7\r\ntxt:abc\r\n!3\r\nERR\r\n%1\r\n+k\r\n~1\r\n+v\r\n|1\r\n+a\r\n+b\r\n:9\r\n*-1\r\n"
      "$3\r\n\0\r\n\r\n";
  const std::string stream(kStream, sizeof kStream - 1);
  const std::string expected = show_all(parse_all(stream));
  ASSERT_EQ(expected,
            "+OK;-ERR x;:123;$ab\r\ncd;nil;[$a,[:5],nil];:1;$1.5;$12;$abc;-ERR;[+k,[+v]];:9;nil;$" +
                std::string("\0\r\n", 3) + ";");
  for (std::size_t split = 0; split <= stream.size(); ++split) {
    resp::Parser parser;
    std::vector<Reply> replies;
    auto drain = [&] {
      for (;;) {
        auto next = parser.next();
        ASSERT_TRUE(next.has_value()) << "split " << split << ": " << next.error().to_string();
        if (!*next) break;
        replies.push_back(std::move(**next));
      }
    };
    parser.feed(std::string_view(stream).substr(0, split));
    drain();
    parser.feed(std::string_view(stream).substr(split));
    drain();
    EXPECT_EQ(show_all(replies), expected) << "split at " << split;
    EXPECT_EQ(parser.buffered(), 0u);
  }
  // One byte at a time.
  resp::Parser parser;
  std::vector<Reply> replies;
  for (char byte : stream) {
    parser.feed(std::string_view(&byte, 1));
    for (;;) {
      auto next = parser.next();
      ASSERT_TRUE(next.has_value());
      if (!*next) break;
      replies.push_back(std::move(**next));
    }
  }
  EXPECT_EQ(show_all(replies), expected);
}

TEST(RespParserTest, PartialInputWaitsAndKeepsBytes) {
  resp::Parser parser;
  parser.feed("$10\r\n01234");
  auto next = parser.next();
  ASSERT_TRUE(next.has_value());
  EXPECT_FALSE(next->has_value());
  EXPECT_EQ(parser.buffered(), 10u);
  parser.feed("56789\r\n:1\r\n");
  next = parser.next();
  ASSERT_TRUE(next.has_value() && next->has_value());
  EXPECT_EQ((*next)->string, "0123456789");
  next = parser.next();
  ASSERT_TRUE(next.has_value() && next->has_value());
  EXPECT_EQ((*next)->integer, 1);
}

TEST(RespParserTest, ManyRepliesInOneBuffer) {
  std::string stream;
  for (int i = 0; i < 1000; ++i) stream += ":" + std::to_string(i) + "\r\n";
  auto replies = parse_all(stream);
  ASSERT_EQ(replies.size(), 1000u);
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(replies[static_cast<std::size_t>(i)].integer, i);
}

TEST(RespParserTest, RefusesMalformedInput) {
  for (std::string_view input :
       {"?what\r\n", "\r\n", ":\r\n", ":-\r\n", ":12a\r\n", ": 1\r\n", ":+1\r\n", ":99999999999999999999\r\n",
        "$-2\r\n", "$abc\r\n", "$3\r\nabcd\r\n", "$3\r\nab\r\n\r\n", "*-2\r\n", "*x\r\n", "%-1\r\n", "#x\r\n",
        "#tt\r\n", "_x\r\n", ",\r\n", "(1.5\r\n", "(-\r\n", "=3\r\nabc\r\n", "=4\r\ntxt;\r\n", "$-1x\r\n"}) {
    auto error = parse_error(input);
    EXPECT_EQ(error.code, ErrorCode::redis_unavailable) << input;
  }
}

TEST(RespParserTest, RefusesOversizedInput) {
  EXPECT_EQ(parse_error("$536870913\r\n").code, ErrorCode::redis_unavailable);     // > 512 MiB
  EXPECT_EQ(parse_error("$9223372036854775807\r\n").code, ErrorCode::redis_unavailable);
  EXPECT_EQ(parse_error("*16777217\r\n").code, ErrorCode::redis_unavailable);      // > 16 M elements
  EXPECT_EQ(parse_error("%16777217\r\n").code, ErrorCode::redis_unavailable);
  std::string deep;
  for (int i = 0; i < 65; ++i) deep += "*1\r\n";
  EXPECT_EQ(parse_error(deep).code, ErrorCode::redis_unavailable);  // nested deeper than 64
  EXPECT_EQ(parse_error(std::string(70000, '+')).code, ErrorCode::redis_unavailable);  // endless line
  std::string long_line = "+" + std::string(70000, 'x') + "\r\n";
  EXPECT_EQ(parse_error(long_line).code, ErrorCode::redis_unavailable);
}

TEST(RespParserTest, AcceptsTheLimits) {
  std::string deep;
  for (int i = 0; i < 64; ++i) deep += "*1\r\n";
  deep += ":1\r\n";
  auto replies = parse_all(deep);
  ASSERT_EQ(replies.size(), 1u);
  const Reply* inner = &replies[0];
  int depth = 0;
  while (inner->type == Reply::Type::array) {
    ASSERT_EQ(inner->elements.size(), 1u);
    inner = &inner->elements[0];
    ++depth;
  }
  EXPECT_EQ(depth, 64);
  EXPECT_EQ(inner->integer, 1);
  // A huge announced bulk or array is not allocated up front: it only waits for bytes.
  resp::Parser parser;
  parser.feed("$536870912\r\nabc");
  auto next = parser.next();
  ASSERT_TRUE(next.has_value());
  EXPECT_FALSE(next->has_value());
  resp::Parser array_parser;
  array_parser.feed("*16777216\r\n:1\r\n");
  next = array_parser.next();
  ASSERT_TRUE(next.has_value());
  EXPECT_FALSE(next->has_value());
}

TEST(RespParserTest, StaysFailed) {
  resp::Parser parser;
  parser.feed("?\r\n");
  EXPECT_FALSE(parser.next().has_value());
  parser.feed("+OK\r\n");
  auto next = parser.next();
  ASSERT_FALSE(next.has_value());
  EXPECT_EQ(next.error().code, ErrorCode::redis_unavailable);
}

}  // namespace
}  // namespace cloister::redis
