#pragma once
// Identifiers that are not secrets: request ids (random, 16 hex digits).

#include <string>

namespace cloister {

std::string new_request_id();

}  // namespace cloister
