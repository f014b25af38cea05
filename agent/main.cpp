// ringwatch: one binary, subcommands (CONTRACT.md "CLI").
// Exit codes: 0 ok, 1 runtime failure, 2 usage or config error.

#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>

#include "agent/agent.h"
#include "agent/logging.h"
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

  std::string check_config;
  auto* check = app.add_subcommand("check-config", "validate a configuration file and exit");
  AddConfigOption(check, &check_config);

  auto* version = app.add_subcommand("version", "print the version and revision");

  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kExitUsage;
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
  if (agent->parsed()) {
    ringwatch::config::Config config;
    if (!LoadOrReport(agent_config, &config)) return kExitUsage;
    ringwatch::agent::SetupLogging(config.log);
    return ringwatch::agent::Agent(std::move(config)).Run();
  }
  return kExitUsage;
}
