#pragma once
// Scenario scripts that the whole-agent simulation (tests/agent/core) and
// real agent processes (tests/agent) both replay, so that a test fails when
// the runtime and the simulation diverge: each runner executes the steps
// and prints the committed events, and both outputs must equal the same
// golden file (tests/testdata/scenarios/NAME.events).
//
// A script, one step per line ('#' starts a comment):
//   cluster N voters ID... seeds ID...   (first line: N agents n1..nN; the
//                                        bootstrap voters; every agent's seeds)
//   start ID...        start (or restart) agents
//   await ID... STATE  until every running agent's view holds them in STATE
//   kill ID            SIGKILL / crash
//   leave ID           graceful leave (POST /v1/leave), then the agent stops
// The events printed are the committed kinds join, dead, alive, leave and
// removed, one per line: "KIND MEMBER [DIAGNOSIS]". Events of the founding
// agents (the first `start`) come first in id order: the order of their joins
// depends on who is elected.

#include <optional>
#include <string>
#include <vector>

namespace ringwatch::testing {

struct ScenarioStep {
  int line = 0;
  std::string verb;  // start, await, kill, leave
  std::vector<std::string> ids;
  std::string state;  // await only
};

struct Scenario {
  int members = 0;
  std::vector<std::string> voters;
  std::vector<std::string> seeds;  // member ids
  std::vector<ScenarioStep> steps;
};

// nullopt with `error` naming the line when the script is malformed.
std::optional<Scenario> ParseScenario(const std::string& text, std::string* error);

struct ScenarioEvent {
  std::string kind;
  std::string member;
  std::string diagnosis;  // empty when none
};

// The committed events in log order, filtered and normalized as above.
std::string FormatScenarioEvents(const Scenario& scenario,
                                 const std::vector<ScenarioEvent>& events);

// tests/testdata/scenarios/<name>.scenario and .events (RINGWATCH_SOURCE_DIR).
std::string ScenarioText(const std::string& name);
std::string ScenarioGolden(const std::string& name);

}  // namespace ringwatch::testing
