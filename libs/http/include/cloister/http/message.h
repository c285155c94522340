#pragma once
// Requests, responses and their helpers in one include.

#include "cloister/http/headers.h"
#include "cloister/http/request.h"
#include "cloister/http/response.h"
