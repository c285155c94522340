#pragma once
// What every `cloister … ` admin command needs: an HTTPS client trusting --ca, the service's base
// URL, and the admin bearer token from --admin-token-file (else CLOISTER_ADMIN_TOKEN).

#include "cloister/core/error.h"
#include "cloister/http/client.h"

#include <string>

namespace cloister::cli {

struct AdminClient {
  http::Client client;
  std::string base_url;      // without a trailing '/'
  http::HeaderList headers;  // Authorization: Bearer <token>
};

// Authorization: Bearer <the token in `path`> (trailing whitespace dropped). io_error when the file
// is unreadable, unauthenticated when it is empty.
Result<http::HeaderList> admin_headers_from_file(const std::string& path);

// invalid_argument (a usage error) when no token is given or a file is unreadable.
Result<AdminClient> make_admin_client(const std::string& url, const std::string& ca_file,
                                      const std::string& admin_token_file);

// Prints an admin answer: the JSON (indented) on standard output and 0 for a 2xx; "error: HTTP
// <status> <code>: <detail>" on standard error and 1 otherwise (or for a transport error).
int print_admin_response(const Result<http::Response>& response);

}  // namespace cloister::cli
