#include "tests/support/scenario.h"

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

namespace ringwatch::testing {
namespace {

std::string Read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

bool IsMember(const Scenario& s, const std::string& id) {
  if (id.size() < 2 || id[0] != 'n') return false;
  const int n = std::atoi(id.c_str() + 1);
  return n >= 1 && n <= s.members && id == "n" + std::to_string(n);
}

}  // namespace

std::optional<Scenario> ParseScenario(const std::string& text, std::string* error) {
  Scenario s;
  std::istringstream lines(text);
  std::string line;
  int number = 0;
  auto fail = [&](const std::string& why) {
    *error = "line " + std::to_string(number) + ": " + why;
    return std::nullopt;
  };
  while (std::getline(lines, line)) {
    ++number;
    if (auto hash = line.find('#'); hash != std::string::npos) line.resize(hash);
    std::istringstream words(line);
    std::vector<std::string> w;
    for (std::string word; words >> word;)
      w.push_back(word);
    if (w.empty()) continue;
    if (s.members == 0) {
      if (w[0] != "cluster" || w.size() < 2) return fail("the first step must be `cluster N ...`");
      s.members = std::atoi(w[1].c_str());
      if (s.members < 1 || s.members > 9) return fail("cluster size must be 1-9");
      std::vector<std::string>* list = nullptr;
      for (std::size_t i = 2; i < w.size(); ++i) {
        if (w[i] == "voters") {
          list = &s.voters;
        } else if (w[i] == "seeds") {
          list = &s.seeds;
        } else if (list && IsMember(s, w[i])) {
          list->push_back(w[i]);
        } else {
          return fail("unexpected " + w[i]);
        }
      }
      if (s.voters.empty() || s.seeds.empty()) return fail("voters and seeds are required");
      continue;
    }
    ScenarioStep step;
    step.line = number;
    step.verb = w[0];
    std::size_t end = w.size();
    if (step.verb == "await") {
      if (w.size() < 3) return fail("await ID... STATE");
      step.state = w.back();
      --end;
    } else if (step.verb != "start" && step.verb != "kill" && step.verb != "leave") {
      return fail("unknown step " + step.verb);
    }
    for (std::size_t i = 1; i < end; ++i) {
      if (!IsMember(s, w[i])) return fail("no member " + w[i]);
      step.ids.push_back(w[i]);
    }
    if (step.ids.empty()) return fail(step.verb + " needs a member");
    s.steps.push_back(std::move(step));
  }
  if (s.members == 0) return fail("empty scenario");
  return s;
}

std::string FormatScenarioEvents(const Scenario& scenario,
                                 const std::vector<ScenarioEvent>& events) {
  std::set<std::string> founders;
  for (const ScenarioStep& step : scenario.steps)
    if (step.verb == "start") {
      founders.insert(step.ids.begin(), step.ids.end());
      break;
    }
  static const std::set<std::string> kKinds = {"join", "dead", "alive", "leave", "removed"};
  std::vector<std::string> first, rest;
  for (const ScenarioEvent& e : events) {
    if (!kKinds.count(e.kind)) continue;
    std::string line = e.kind + " " + e.member + (e.diagnosis.empty() ? "" : " " + e.diagnosis);
    const bool founding = rest.empty() && e.kind == "join" && founders.count(e.member);
    (founding ? first : rest).push_back(std::move(line));
  }
  std::sort(first.begin(), first.end());
  std::string out;
  for (const auto* part : {&first, &rest})
    for (const std::string& line : *part)
      out += line + "\n";
  return out;
}

std::string ScenarioText(const std::string& name) {
  return Read(std::string(RINGWATCH_SOURCE_DIR) + "/tests/testdata/scenarios/" + name +
              ".scenario");
}

std::string ScenarioGolden(const std::string& name) {
  return Read(std::string(RINGWATCH_SOURCE_DIR) + "/tests/testdata/scenarios/" + name + ".events");
}

}  // namespace ringwatch::testing
