#pragma once
// network: ringwatch_host_network_receive_bytes_total{device} and
// ringwatch_host_network_transmit_bytes_total{device} from /proc/net/dev.

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "collectors/collector.h"

namespace ringwatch::collectors {

struct DeviceBytes {
  double receive = 0;
  double transmit = 0;
};

std::optional<std::map<std::string, DeviceBytes>> ParseNetDev(std::string_view net_dev);

std::unique_ptr<Collector> MakeNetworkCollector(const Sources& sources);

}  // namespace ringwatch::collectors
