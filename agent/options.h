#pragma once
// The one place the configuration meets the cores: each core owns its
// options type (detectors::PolicyOptions, ring::Options, CoreOptions, ...)
// and these functions map the config sections onto them. Pure.

#include <chrono>
#include <string>

#include "agent/core/agent_core.h"
#include "agent/ring_service.h"
#include "config/config.h"
#include "detectors/policy.h"
#include "ring/ring.h"

namespace ringwatch::agent {

detectors::PolicyOptions DetectorOptions(const config::DetectorConfig& detector);
ring::Options RingOptions(const config::RingConfig& ring);
RingService::Options RingServiceOptions(
    const config::RingConfig& ring, const std::string& node_id,
    std::chrono::milliseconds hook_timeout = std::chrono::seconds(10));

// `self` is this member as it joins: id, advertised peer address
// ("host:port"), zone, service, weight and this start's incarnation.
CoreOptions MakeCoreOptions(const config::Config& config, membership::MemberInfo self);

}  // namespace ringwatch::agent
