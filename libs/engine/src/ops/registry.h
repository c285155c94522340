#pragma once
// The one table of operators (ops/registry.cpp): ONNX domain + op type → factory.

#include "kernel.h"

#include <span>
#include <string_view>

namespace cloister::engine {

// Which input layouts a kernel accepts; the planner reorders other inputs to plain first.
enum class LayoutSupport {
  plain,  // dense row-major only
  dense,  // elementwise over the buffer: any unpadded layout, all inputs alike (output takes it)
  any,    // any oneDNN layout (the kernel reorders itself where it must)
};

struct OperatorDef {
  std::string_view domain;   // "" is the default ONNX domain (ai.onnx)
  std::string_view op_type;
  KernelFactory factory;
  LayoutSupport layouts = LayoutSupport::plain;
};

std::span<const OperatorDef> operator_table();
const OperatorDef* find_operator(std::string_view domain, std::string_view op_type);

}  // namespace cloister::engine
