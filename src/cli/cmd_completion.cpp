// lstore completion bash|zsh|fish: shell completions generated from the same
// CLI11 command tree as --help (options, and the values an option's
// CLI::IsMember check accepts), so they cannot drift from it.
#include <fmt/format.h>

#include <algorithm>

#include "commands.hpp"

namespace lstore::cli {
namespace {

struct Opt {
  std::vector<std::string> names;   // "--format", "-q"
  bool takes_value = false;
  std::vector<std::string> values;  // what its IsMember check accepts; empty: anything (a file, a number)
};

struct Command {
  std::string name, description;
  std::vector<Opt> options;          // its own; the global ones are in the root's list
  std::vector<std::string> words;    // values of a positional (ls WHAT, completion SHELL)
  bool files = true;                 // its arguments are file names (not when a check fixes them all)
};

// The values of a CLI::IsMember check: CLI11 writes them into the option's
// type name as "TEXT:{a,b,c}".
std::vector<std::string> member_values(const CLI::Option& o) {
  std::string t = o.get_type_name();
  std::size_t open = t.find('{'), close = t.rfind('}');
  std::vector<std::string> out;
  if (open == std::string::npos || close == std::string::npos || close < open) return out;
  std::string list = t.substr(open + 1, close - open - 1);
  for (std::size_t pos = 0; pos <= list.size();) {
    std::size_t comma = list.find(',', pos);
    if (comma == std::string::npos) comma = list.size();
    if (comma > pos) out.push_back(list.substr(pos, comma - pos));
    pos = comma + 1;
  }
  return out;
}

std::vector<Opt> options_of(const CLI::App& app) {
  std::vector<Opt> out;
  for (const CLI::Option* o : app.get_options()) {
    if (o->get_lnames().empty() && o->get_snames().empty()) continue;  // a positional
    Opt opt;
    for (const std::string& l : o->get_lnames()) opt.names.push_back("--" + l);
    for (const std::string& s : o->get_snames()) opt.names.push_back("-" + s);
    opt.takes_value = o->get_expected_max() != 0;  // a flag expects no value
    if (opt.takes_value) opt.values = member_values(*o);
    out.push_back(std::move(opt));
  }
  return out;
}

std::vector<Command> command_tree(const CLI::App& root) {
  std::vector<Command> out;
  for (const CLI::App* sub : root.get_subcommands([](const CLI::App*) { return true; })) {
    Command c{sub->get_name(), sub->get_description(), options_of(*sub), {}};
    for (const CLI::Option* o : sub->get_options())
      if (o->get_lnames().empty() && o->get_snames().empty()) {
        // A positional with a fixed set of values (completion SHELL) offers them;
        // ls's last word may be a WHAT.
        for (const std::string& v : member_values(*o)) c.words.push_back(v);
        if (!c.words.empty()) c.files = false;
      }
    if (c.name == "ls") c.words = kLsWhat;
    out.push_back(std::move(c));
  }
  return out;
}

// Every name, each once, in order (a command's own --help and the global one are one).
std::vector<std::string> names_of(const std::vector<Opt>& a, const std::vector<Opt>& b = {}) {
  std::vector<std::string> out;
  for (const auto* list : {&a, &b})
    for (const Opt& o : *list)
      for (const std::string& n : o.names)
        if (std::find(out.begin(), out.end(), n) == out.end()) out.push_back(n);
  return out;
}

std::string join(const std::vector<std::string>& v, const std::string& sep = " ") {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : sep) + x;
  return s;
}

// The valued global options, as a case pattern ("--format|--color").
std::string valued_pattern(const std::vector<Opt>& opts) {
  std::vector<std::string> names;
  for (const Opt& o : opts)
    if (o.takes_value)
      for (const std::string& n : o.names) names.push_back(n);
  return names.empty() ? "--no-such-option" : join(names, "|");
}

std::string bash(const CLI::App& root) {
  auto tree = command_tree(root);
  std::vector<Opt> globals = options_of(root);
  std::vector<std::string> names;
  for (const auto& c : tree) names.push_back(c.name);
  // Values per option: a command's own first (validate --format), then the global ones.
  std::string values, cases;
  std::vector<std::string> valued;  // every option that takes a value, once
  for (const auto& c : tree)
    for (const Opt& o : c.options) {
      if (o.takes_value)
        for (const std::string& n : o.names)
          if (std::find(valued.begin(), valued.end(), n) == valued.end()) valued.push_back(n);
      if (!o.values.empty()) values += fmt::format("    {}:{}) vals=\"{}\" ;;\n", c.name, join(o.names, "|" + c.name + ":"), join(o.values));
    }
  for (const Opt& o : globals)
    if (!o.values.empty()) {
      std::vector<std::string> pats;
      for (const std::string& n : o.names) pats.push_back("*:" + n);
      values += fmt::format("    {}) vals=\"{}\" ;;\n", join(pats, "|"), join(o.values));
    }
  for (const auto& c : tree)
    cases += fmt::format("    {}) opts=\"{}\"; words=\"{}\"; files={} ;;\n", c.name, join(names_of(c.options, globals)),
                         join(c.words), c.files ? 1 : 0);
  return fmt::format(R"(# bash completion for lstore (generated by `lstore completion bash`)
_lstore() {{
  local cur="${{COMP_WORDS[COMP_CWORD]}}" prev="" cmd="" opts="" words="" vals="" files=1 i
  (( COMP_CWORD > 0 )) && prev="${{COMP_WORDS[COMP_CWORD-1]}}"
  # The command: the first word that is neither an option nor an option's value.
  for ((i = 1; i < COMP_CWORD; i++)); do
    case "${{COMP_WORDS[i]}}" in
      {}) ((i++)) ;;
      -*) ;;
      *) cmd="${{COMP_WORDS[i]}}"; break ;;
    esac
  done
  # The value of the option before the cursor: its choices, or files.
  case "$cmd:$prev" in
{}  esac
  if [[ -n "$vals" ]]; then
    mapfile -t COMPREPLY < <(compgen -W "$vals" -- "$cur")
    return
  fi
  case "$prev" in
    {}|{}) mapfile -t COMPREPLY < <(compgen -f -- "$cur"); return ;;
  esac
  if [[ -z "$cmd" ]]; then
    if [[ "$cur" == -* ]]; then
      mapfile -t COMPREPLY < <(compgen -W "{}" -- "$cur")
    else
      mapfile -t COMPREPLY < <(compgen -W "{}" -- "$cur")
    fi
    return
  fi
  case "$cmd" in
{}  esac
  # One name a line: a file name with spaces stays one word.
  if [[ "$cur" == -* ]]; then
    mapfile -t COMPREPLY < <(compgen -W "$opts" -- "$cur")
  else
    mapfile -t COMPREPLY < <(compgen -W "$words" -- "$cur"; (( files )) && compgen -f -- "$cur")
  fi
}}
complete -o filenames -F _lstore lstore
)",
                     valued_pattern(globals), values, valued_pattern(globals), valued.empty() ? "--no-such-option" : join(valued, "|"),
                     join(names_of(globals)), join(names), cases);
}

std::string fish_quote(std::string s) {
  std::string out = "'";
  for (char ch : s) out += ch == '\'' ? std::string("\\'") : ch == '\\' ? std::string("\\\\") : std::string(1, ch);
  return out + "'";
}

std::string fish_option(const Opt& o, const std::string& condition) {
  std::string line = "complete -c lstore";
  if (!condition.empty()) line += " -n " + fish_quote(condition);
  for (const std::string& n : o.names) line += n.rfind("--", 0) == 0 ? " -l " + n.substr(2) : " -s " + n.substr(1);
  if (!o.values.empty()) line += " -x -a " + fish_quote(join(o.values));
  else if (o.takes_value) line += " -r -F";
  return line + "\n";
}

std::string fish(const CLI::App& root) {
  auto tree = command_tree(root);
  std::vector<Opt> globals = options_of(root);
  std::string out = "# fish completion for lstore (generated by `lstore completion fish`)\ncomplete -c lstore -f\n";
  std::vector<std::string> all;
  for (const auto& c : tree) all.push_back(c.name);
  // Global options anywhere, unless the command has its own of that name (validate --format).
  for (const Opt& g : globals) {
    std::vector<std::string> own;
    for (const auto& c : tree)
      for (const Opt& o : c.options)
        if (o.names == g.names) own.push_back(c.name);
    out += fish_option(g, own.empty() ? "" : "not __fish_seen_subcommand_from " + join(own));
  }
  for (const auto& c : tree) {
    out += fmt::format("complete -c lstore -n __fish_use_subcommand -a {} -d {}\n", c.name, fish_quote(c.description));
    std::string cond = "__fish_seen_subcommand_from " + c.name;
    for (const Opt& o : c.options) {
      bool global = false;
      for (const Opt& g : globals) global |= g.names == o.names && g.values == o.values;
      if (!global) out += fish_option(o, cond);
    }
    if (!c.words.empty()) out += fmt::format("complete -c lstore -n {} -a {}\n", fish_quote(cond), fish_quote(join(c.words)));
    if (c.files) out += fmt::format("complete -c lstore -n {} -F\n", fish_quote(cond));
  }
  return out;
}

// A native zsh function: the file starts with #compdef, so installed in
// $fpath (vendor-completions) it is autoloaded; sourced, it registers itself.
std::string zsh(const CLI::App& root) {
  auto quote = [](std::string s) {
    std::string out;
    for (char ch : s) out += ch == '\'' ? std::string("'\\''") : ch == ':' ? std::string("\\:") : std::string(1, ch);
    return out;
  };
  auto tree = command_tree(root);
  std::vector<Opt> globals = options_of(root);
  std::string commands, cases, values;
  for (const auto& c : tree) commands += fmt::format("    '{}:{}'\n", c.name, quote(c.description));
  for (const auto& c : tree) {
    cases += fmt::format("    {}) opts=({}); vals=({}); files={} ;;\n", c.name, join(names_of(c.options, globals)), join(c.words),
                         c.files ? 1 : 0);
    for (const Opt& o : c.options)
      if (!o.values.empty()) values += fmt::format("    {}:{}) compadd -- {}; return ;;\n", c.name, join(o.names, "|" + c.name + ":"), join(o.values));
  }
  for (const Opt& o : globals)
    if (!o.values.empty()) {
      std::vector<std::string> pats;
      for (const std::string& n : o.names) pats.push_back("*:" + n);
      values += fmt::format("    {}) compadd -- {}; return ;;\n", join(pats, "|"), join(o.values));
    }
  return fmt::format(R"(#compdef lstore
# zsh completion for lstore (generated by `lstore completion zsh`)
_lstore() {{
  local -a commands opts vals
  local cmd="" i files=1
  commands=(
{}  )
  # The command: the first word that is neither an option nor an option's value.
  for ((i = 2; i < CURRENT; i++)); do
    case ${{words[i]}} in
      {}) ((i++)) ;;
      -*) ;;
      *) cmd=${{words[i]}}; break ;;
    esac
  done
  case "$cmd:${{words[CURRENT-1]}}" in
{}  esac
  if [[ -z $cmd ]]; then
    if [[ $PREFIX == -* ]]; then compadd -- {}; else _describe -t commands 'lstore command' commands; fi
    return
  fi
  case $cmd in
{}  esac
  if [[ $PREFIX == -* ]]; then
    compadd -- $opts
  else
    (( ${{#vals}} )) && compadd -- $vals
    (( files )) && _files
  fi
}}
if [[ $funcstack[1] == _lstore ]]; then _lstore "$@"; else compdef _lstore lstore; fi
)",
                     commands, valued_pattern(globals), values, join(names_of(globals)), cases);
}

}  // namespace

CommandSpec add_completion(CLI::App& parent) {
  auto shell = std::make_shared<std::string>();
  CLI::App* app = parent.add_subcommand("completion", "Print shell completions: bash, zsh or fish");
  app->add_option("shell", *shell, "bash, zsh or fish")->required()->check(CLI::IsMember(kShells));
  const CLI::App* root = &parent;
  return {app, [shell, root](Output& out) {
            std::string script = *shell == "fish" ? fish(*root) : *shell == "bash" ? bash(*root) : zsh(*root);
            write_stdout(script);
            (void)out;
            return 0;
          }};
}

}  // namespace lstore::cli
