#pragma once
// Graph optimisations on a specialised graph (shapes known, constants folded): batch-norm folding
// into convolutions, conv + bias + activation (+ residual add) fusion into oneDNN post-ops,
// removal of no-op nodes.

#include "cloister/core/error.h"
#include "cloister/engine/session.h"
#include "graph.h"
#include "kernel.h"

#include <memory>
#include <string>
#include <vector>

namespace cloister::engine {

struct OperatorDef;

struct LiveNode {
  Node node;  // a copy: optimisations rewrite inputs, outputs and fused post-ops
  const OperatorDef* definition = nullptr;
  std::unique_ptr<Kernel> kernel;
  std::vector<PostOp> post_ops;
  std::string label;  // the step name when nodes were fused ("conv1+relu1")
};

struct LiveGraph {
  const Graph* graph = nullptr;
  std::vector<ValueInfo> values;   // by value id (new ids may be appended)
  std::vector<std::string> names;
  std::vector<LiveNode> nodes;     // not folded, in order
};

// Returns how many nodes were absorbed (fused or folded away).
Result<std::size_t> optimize_graph(LiveGraph& graph, const SessionOptions& options);

}  // namespace cloister::engine
