#include "collectors/network.h"

#include <sstream>

namespace ringwatch::collectors {

std::optional<std::map<std::string, DeviceBytes>> ParseNetDev(std::string_view net_dev) {
  std::istringstream in{std::string(net_dev)};
  std::string line;
  std::map<std::string, DeviceBytes> out;
  int number = 0;
  while (std::getline(in, line)) {
    if (++number <= 2) continue;  // two header lines
    const auto colon = line.find(':');
    if (colon == std::string::npos) return std::nullopt;
    std::string device = line.substr(0, colon);
    device.erase(0, device.find_first_not_of(' '));
    std::istringstream fields(line.substr(colon + 1));
    double v[9];
    for (double& x : v) {
      if (!(fields >> x)) return std::nullopt;
    }
    out[device] = {v[0], v[8]};  // receive bytes is field 1, transmit bytes field 9
  }
  if (number < 2) return std::nullopt;
  return out;
}

namespace {

class NetworkCollector : public Collector {
 public:
  explicit NetworkCollector(Sources s) : sources_(std::move(s)) {}
  const char* name() const override { return "network"; }
  bool Collect(std::vector<Family>* out) const override {
    const auto text = ReadFile(sources_.proc_root + "/net/dev");
    if (!text) return false;
    const auto devices = ParseNetDev(*text);
    if (!devices) return false;
    Family rx{"ringwatch_host_network_receive_bytes_total",
              "Bytes received by a network device.",
              MetricType::kCounter,
              {}};
    Family tx{"ringwatch_host_network_transmit_bytes_total",
              "Bytes transmitted by a network device.",
              MetricType::kCounter,
              {}};
    for (const auto& [device, bytes] : *devices) {
      rx.samples.push_back({{{"device", device}}, bytes.receive});
      tx.samples.push_back({{{"device", device}}, bytes.transmit});
    }
    out->push_back(std::move(rx));
    out->push_back(std::move(tx));
    return true;
  }

 private:
  Sources sources_;
};

}  // namespace

std::unique_ptr<Collector> MakeNetworkCollector(const Sources& sources) {
  return std::make_unique<NetworkCollector>(sources);
}

}  // namespace ringwatch::collectors
