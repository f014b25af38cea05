// ringwatch: one binary, subcommands (docs/contract.md "CLI").
// Exit codes: 0 ok, 1 runtime failure, 2 usage or config error.

#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <map>

#include "agent/agent.h"
#include "agent/cli/client_command.h"
#include "agent/cli/lock_command.h"
#include "agent/cli/tune_command.h"
#include "agent/logging.h"
#include "config/keyring.h"
#include "config/loader.h"
#include "core/build_info.h"

namespace {

constexpr int kExitOk = 0;
constexpr int kExitUsage = 2;
constexpr const char* kDefaultConfig = "/etc/ringwatch/ringwatch.yaml";

// Prints every error of a config and returns false, or returns true.
bool LoadOrReport(const std::string& path, ringwatch::config::Config* out) {
  auto result = ringwatch::config::LoadConfigFile(path);
  if (!result.ok()) {
    for (const auto& e : result.error())
      std::cerr << e.ToString() << "\n";
    std::cerr << path << ": " << result.error().size() << " error(s)\n";
    return false;
  }
  *out = std::move(result).value();
  return true;
}

// The config's collectors with the command-line flags applied, in the
// documented order.
void ApplyCollectorFlags(const std::map<std::string, int>& flags,
                         std::vector<std::string>* collectors) {
  std::vector<std::string> out;
  for (const auto& name : ringwatch::config::KnownCollectors()) {
    const bool in_config =
        std::find(collectors->begin(), collectors->end(), name) != collectors->end();
    const auto flag = flags.find(name);
    if (flag != flags.end() ? flag->second > 0 : in_config) out.push_back(name);
  }
  *collectors = std::move(out);
}

void AddConfigOption(CLI::App* cmd, std::string* path) {
  cmd->add_option("-c,--config", *path, "configuration file")
      ->envname("RINGWATCH_CONFIG")
      ->default_val(kDefaultConfig)
      ->run_callback_for_default();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ringwatch: cluster monitoring and failure-diagnosis agent"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string(ringwatch::core::kVersion));

  std::string agent_config;
  auto* agent = app.add_subcommand("agent", "run the agent in the foreground");
  AddConfigOption(agent, &agent_config);
  // --collector.NAME / --no-collector.NAME override the config's collectors
  // list, as node_exporter's flags do.
  std::map<std::string, int> collector_flags;  // 1 on, -1 off
  for (const auto& name : ringwatch::config::KnownCollectors()) {
    agent->add_flag_callback(
        "--collector." + name, [&collector_flags, name] { collector_flags[name] = 1; },
        "enable the " + name + " collector");
    agent->add_flag_callback(
        "--no-collector." + name, [&collector_flags, name] { collector_flags[name] = -1; },
        "disable the " + name + " collector");
  }

  std::string check_config;
  auto* check = app.add_subcommand("check-config", "validate a configuration file and exit");
  AddConfigOption(check, &check_config);

  auto* version = app.add_subcommand("version", "print the version and revision");
  auto* keygen = app.add_subcommand(
      "keygen", "print a new random key (base64) for the keyring in cluster.secret_file");

  auto* tune =
      app.add_subcommand("tune", "replay a heartbeat arrival trace against detector settings");
  std::string tune_config, tune_thresholds = "1:16:1", tune_windows, tune_min_std_devs;
  ringwatch::agent::TuneOptions tune_options;
  tune->add_option("--trace", tune_options.trace_file,
                   "arrival trace: one timestamp in seconds per line")
      ->required();
  tune->add_option("-c,--config", tune_config, "take the other detector settings from this config");
  tune->add_option("--thresholds", tune_thresholds,
                   "phi thresholds: START:END:STEP or a comma list")
      ->capture_default_str();
  tune->add_option("--windows", tune_windows, "windows to try, comma list (default: the config's)");
  tune->add_option("--min-std-devs", tune_min_std_devs,
                   "min_std_dev values to try, e.g. 20ms,50ms");
  tune->add_option("--max-mistakes-per-hour", tune_options.max_mistakes_per_hour,
                   "mistake rate the recommendation must meet")
      ->capture_default_str();

  // Client commands: they talk to a running agent's HTTP API.
  ringwatch::agent::ClientOptions client;
  std::vector<CLI::App*> clients;
  auto add_client = [&](const std::string& name, const std::string& help) {
    auto* c = app.add_subcommand(name, help);
    c->add_option("--http-addr", client.http_addr,
                  "the agent's HTTP address, [http://|https://]HOST[:PORT]")
        ->envname("RINGWATCH_HTTP_ADDR")
        ->capture_default_str();
    c->add_option("--ca-file", client.ca_file,
                  "PEM CA bundle that signed the agent's certificate (https; default: the "
                  "system's CAs)")
        ->envname("RINGWATCH_CA_FILE");
    c->add_option("--cert-file", client.cert_file, "PEM client certificate (mutual TLS)")
        ->envname("RINGWATCH_CERT_FILE");
    c->add_option("--key-file", client.key_file, "PEM key of the client certificate")
        ->envname("RINGWATCH_KEY_FILE");
    c->add_option("--token-file", client.token_file,
                  "file holding the bearer token (the agent's http.token_file)")
        ->envname("RINGWATCH_TOKEN_FILE");
    c->add_flag("--json", client.json, "print the JSON answer");
    clients.push_back(c);
    return c;
  };
  add_client("members", "list the members of the committed view");
  add_client("status", "show this agent's Raft and view status");
  add_client("ring", "show the consistent-hash ring: members, points and ownership");
  auto* lookup = add_client("lookup", "show which members own a key");
  lookup->add_option("KEY", client.key, "the key")->required();
  lookup
      ->add_option("-r,--replicas", client.replicas,
                   "how many owners to list (default: the ring's replicas)")
      ->check(CLI::Range(0, 64));
  add_client("events", "list membership events")
      ->add_flag("-f,--follow", client.follow, "keep printing new events (Ctrl-C stops)");
  add_client("diagnose", "show the latest diagnosis of a member")
      ->add_option("ID", client.id, "member id")
      ->required();
  add_client("leave", "make the agent leave the cluster gracefully and stop");
  add_client("locks", "list the locks held, with their holders and fencing tokens");
  ringwatch::agent::LockCommandOptions lock_options;
  std::string lock_ttl, lock_wait, lock_lease = "5s", lock_kill_after = "10s";
  auto* lock = add_client("lock",
                          "run COMMAND while holding lock NAME (RINGWATCH_LOCK_TOKEN in its "
                          "environment); stop it if the lock is lost");
  lock->add_option("NAME", lock_options.name, "the lock's name")->required();
  lock->add_option("COMMAND", lock_options.command, "the command to run, after --")->required();
  lock->add_option("--ttl", lock_ttl,
                   "the lock's TTL, renewed every third of it (default: the agent's "
                   "locks.default_ttl; 0s: as long as the member)");
  lock->add_option("--wait", lock_wait, "wait this long for the lock when it is held (e.g. 30s)");
  lock->add_option("--holder", lock_options.holder, "who holds it (default: HOST:PID)");
  lock->add_option("--lease", lock_lease,
                   "without a TTL: the lock counts as lost when no renewal succeeded this long")
      ->capture_default_str();
  lock->add_option("--kill-after", lock_kill_after,
                   "when the lock is lost: SIGTERM to COMMAND, SIGKILL this much later")
      ->capture_default_str();

  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kExitUsage;
  }

  if (lock->parsed()) {
    if (!lock_ttl.empty()) lock_options.ttl.emplace();
    std::chrono::milliseconds unused{0};
    struct {
      const char* flag;
      const std::string* text;
      std::chrono::milliseconds* out;
    } durations[] = {{"--ttl", &lock_ttl, lock_options.ttl ? &*lock_options.ttl : &unused},
                     {"--wait", &lock_wait, &lock_options.wait},
                     {"--lease", &lock_lease, &lock_options.lease},
                     {"--kill-after", &lock_kill_after, &lock_options.kill_after}};
    for (auto& d : durations) {
      if (d.text->empty()) continue;
      ringwatch::core::DurationParseError error;
      auto value = ringwatch::core::ParseDuration(*d.text, &error);
      if (!value || *value < ringwatch::core::Duration::zero()) {
        std::cerr << "ringwatch lock: " << d.flag << ": expected a duration such as 30s, got \""
                  << *d.text << "\"\n";
        return kExitUsage;
      }
      *d.out = std::chrono::duration_cast<std::chrono::milliseconds>(*value);
    }
    return ringwatch::agent::RunLock(client, lock_options, std::cout, std::cerr);
  }
  for (auto* c : clients)
    if (c->parsed())
      return ringwatch::agent::RunClient(c->get_name(), client, std::cout, std::cerr);
  if (keygen->parsed()) {
    std::cout << ringwatch::config::GenerateKey() << "\n";
    return kExitOk;
  }
  if (version->parsed()) {
    std::cout << "ringwatch " << ringwatch::core::kVersion << " (revision "
              << ringwatch::core::kRevision << ")\n";
    return kExitOk;
  }
  if (check->parsed()) {
    ringwatch::config::Config config;
    if (!LoadOrReport(check_config, &config)) return kExitUsage;
    std::cout << check_config << ": ok: " << ringwatch::config::Summary(config) << "\n";
    return kExitOk;
  }
  if (tune->parsed()) {
    if (!tune_config.empty()) {
      ringwatch::config::Config config;
      if (!LoadOrReport(tune_config, &config)) return kExitUsage;
      tune_options.base = config.detector;
    }
    std::string why;
    if (!ringwatch::agent::ParseNumberList(tune_thresholds, &tune_options.thresholds, &why)) {
      std::cerr << "--thresholds: " << why << "\n";
      return kExitUsage;
    }
    if (!tune_windows.empty()) {
      std::vector<double> windows;
      if (!ringwatch::agent::ParseNumberList(tune_windows, &windows, &why)) {
        std::cerr << "--windows: " << why << "\n";
        return kExitUsage;
      }
      for (double w : windows) {
        if (w < 2 || w > 100000 || w != static_cast<uint32_t>(w)) {
          std::cerr << "--windows: each window is an integer from 2 to 100000\n";
          return kExitUsage;
        }
        tune_options.windows.push_back(static_cast<uint32_t>(w));
      }
    }
    if (!tune_min_std_devs.empty() &&
        !ringwatch::agent::ParseDurationList(tune_min_std_devs, &tune_options.min_std_devs, &why)) {
      std::cerr << "--min-std-devs: " << why << "\n";
      return kExitUsage;
    }
    for (double t : tune_options.thresholds) {
      if (t < 0.5 || t > 100) {
        std::cerr << "--thresholds: each threshold is from 0.5 to 100\n";
        return kExitUsage;
      }
    }
    return ringwatch::agent::RunTune(tune_options, std::cout, std::cerr);
  }
  if (agent->parsed()) {
    ringwatch::config::Config config;
    if (!LoadOrReport(agent_config, &config)) return kExitUsage;
    ApplyCollectorFlags(collector_flags, &config.collectors);
    ringwatch::agent::SetupLogging(config.log);
    return ringwatch::agent::Agent(std::move(config)).Run();
  }
  return kExitUsage;
}
