#pragma once
// HTTP header fields as received: order kept, names compared case-insensitively (RFC 9110 §5.1).

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cloister::http {

// Case-insensitive ASCII comparison, as header names and tokens need.
bool iequals(std::string_view a, std::string_view b);

class Headers {
 public:
  using Field = std::pair<std::string, std::string>;

  Headers() = default;
  Headers(std::initializer_list<Field> fields) : fields_(fields) {}

  // The first field with this name (any case); nullopt when absent.
  std::optional<std::string_view> get(std::string_view name) const;
  // Same as get(): reads well at call sites (request.headers.header("authorization")).
  std::optional<std::string_view> header(std::string_view name) const { return get(name); }
  bool contains(std::string_view name) const { return get(name).has_value(); }
  // Every value of a repeated field, in order.
  std::vector<std::string_view> get_all(std::string_view name) const;

  void add(std::string name, std::string value) { fields_.emplace_back(std::move(name), std::move(value)); }
  // Replaces every field with this name by one.
  void set(std::string name, std::string value);
  void remove(std::string_view name);

  std::size_t size() const { return fields_.size(); }
  bool empty() const { return fields_.empty(); }
  auto begin() const { return fields_.begin(); }
  auto end() const { return fields_.end(); }

 private:
  std::vector<Field> fields_;
};

}  // namespace cloister::http
