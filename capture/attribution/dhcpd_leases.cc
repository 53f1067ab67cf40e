#include "capture/attribution/dhcpd_leases.h"

#include <fmt/format.h>

#include <limits>
#include <optional>
#include <string>

#include "capture/attribution/wire.h"

namespace conntrail::capture {

namespace {

constexpr int kMaxDepth = 4;
constexpr std::size_t kMaxWords = 64;
constexpr TimestampNs kNeverEnds = std::numeric_limits<TimestampNs>::max();

struct Token {
  enum Kind { kWord, kString, kOpen, kClose, kSemi, kEnd, kError } kind = kEnd;
  std::string text;  // word, string inside (escapes kept), or error message
  std::size_t line = 0;
};

// dhcpd.leases tokens: words, "strings", { } ; and # comments to end of line.
class Lexer {
 public:
  Lexer(std::istream& in, std::size_t max_token) : in_(in), max_(max_token) {}

  Token next() {
    int c;
    for (;;) {
      c = in_.get();
      if (c == EOF) return {Token::kEnd, {}, line_};
      if (c == '\n') {
        ++line_;
      } else if (c == '#') {
        while ((c = in_.get()) != EOF && c != '\n') {
        }
        if (c == '\n') ++line_;
      } else if (c != ' ' && c != '\t' && c != '\r') {
        break;
      }
    }
    const std::size_t at = line_;
    if (c == '{') return {Token::kOpen, {}, at};
    if (c == '}') return {Token::kClose, {}, at};
    if (c == ';') return {Token::kSemi, {}, at};
    Token t{c == '"' ? Token::kString : Token::kWord, {}, at};
    bool too_long = false;
    auto add = [&](int ch) {
      if (t.text.size() >= max_) too_long = true;
      if (!too_long) t.text += static_cast<char>(ch);
    };
    if (t.kind == Token::kString) {
      for (;;) {
        c = in_.get();
        if (c == EOF) return {Token::kError, "unterminated string", at};
        if (c == '\n') ++line_;
        if (c == '"') break;
        add(c);
        if (c == '\\') {
          c = in_.get();
          if (c == EOF) return {Token::kError, "unterminated string", at};
          if (c == '\n') ++line_;
          add(c);
        }
      }
    } else {
      add(c);
      while ((c = in_.peek()) != EOF && c != ' ' && c != '\t' && c != '\r' && c != '\n' &&
             c != '{' && c != '}' && c != ';' && c != '"' && c != '#') {
        add(in_.get());
      }
    }
    if (too_long) return {Token::kError, fmt::format("token longer than {} bytes", max_), at};
    return t;
  }

 private:
  std::istream& in_;
  std::size_t max_;
  std::size_t line_ = 1;
};

struct Stmt {
  std::size_t line = 0;
  std::vector<Token> words;
  std::vector<Stmt> body;
  bool block = false;
};

struct SyntaxError {
  std::size_t line;
  std::string why;
};

class Parser {
 public:
  enum class Got { kStatement, kBlockEnd, kEof };

  Parser(std::istream& in, const ImportLimits& limits)
      : lex_(in, limits.max_line_bytes), max_statements_(limits.max_record_lines) {}

  // One top-level statement (with its block). Errors leave the lexer after the
  // broken top-level statement, so reading goes on with the next one.
  std::expected<Got, SyntaxError> top(Stmt& out) {
    statements_ = 0;
    auto got = read(out, 0);
    if (!got) recover();
    return got;
  }

 private:
  Token take() {
    Token t = lex_.next();
    if (t.kind == Token::kOpen) ++depth_;
    if (t.kind == Token::kClose && depth_ > 0) --depth_;
    return t;
  }

  // Skips to the end of the top-level statement the error happened in.
  void recover() {
    while (depth_ > 0) {
      const Token t = take();
      if (t.kind == Token::kEnd) return;
    }
  }

  std::expected<Got, SyntaxError> read(Stmt& s, int level) {
    s = Stmt{};
    for (;;) {
      Token t = take();
      switch (t.kind) {
        case Token::kError:
          return std::unexpected(SyntaxError{t.line, t.text});
        case Token::kEnd:
          if (level > 0 || !s.words.empty()) {
            return std::unexpected(SyntaxError{t.line, "file ends inside a statement or block"});
          }
          return Got::kEof;
        case Token::kClose:
          if (!s.words.empty()) return std::unexpected(SyntaxError{t.line, "'}' before ';'"});
          if (level == 0) return std::unexpected(SyntaxError{t.line, "'}' without a block"});
          return Got::kBlockEnd;
        case Token::kSemi:
          if (s.words.empty()) continue;  // an empty statement
          return Got::kStatement;
        case Token::kOpen: {
          if (level + 1 > kMaxDepth) {
            return std::unexpected(SyntaxError{t.line, "blocks nested too deep"});
          }
          if (s.words.empty()) s.line = t.line;
          s.block = true;
          for (;;) {
            Stmt child;
            auto got = read(child, level + 1);
            if (!got) return got;
            if (*got == Got::kBlockEnd) return Got::kStatement;
            if (++statements_ > max_statements_) {
              return std::unexpected(SyntaxError{
                  child.line, fmt::format("block longer than {} statements", max_statements_)});
            }
            s.body.push_back(std::move(child));
          }
        }
        case Token::kWord:
        case Token::kString:
          if (s.words.empty()) s.line = t.line;
          if (s.words.size() == kMaxWords) {
            return std::unexpected(SyntaxError{t.line, "statement with too many words"});
          }
          s.words.push_back(std::move(t));
          break;
      }
    }
  }

  Lexer lex_;
  std::size_t max_statements_;
  std::size_t statements_ = 0;
  int depth_ = 0;
};

struct BadBlock {
  std::size_t line;
  std::string why;
};

bool is(const Stmt& s, std::size_t i, std::string_view word) {
  return s.words.size() > i && s.words[i].kind == Token::kWord && s.words[i].text == word;
}

// `starts 2 2026/11/29 10:00:00` | `starts epoch 1764410400` | `ends never`.
std::expected<TimestampNs, BadBlock> time_of(const Stmt& s) {
  const auto& w = s.words;
  std::optional<TimestampNs> t;
  if (w.size() == 2 && w[1].text == "never") return kNeverEnds;
  if (w.size() == 3 && w[1].text == "epoch") t = parse_epoch_seconds(w[2].text);
  if (w.size() == 4) t = parse_slash_datetime(w[2].text, w[3].text);
  if (w.size() == 3 && !t) t = parse_slash_datetime(w[1].text, w[2].text);
  if (!t) return std::unexpected(BadBlock{s.line, w[0].text + ": not a dhcpd date"});
  return *t;
}

// An octet value written as a "string" (octal escapes) or as colon hex.
std::expected<std::string, BadBlock> octets_of(const Stmt& s, std::size_t at) {
  if (s.words.size() != at + 1) {
    return std::unexpected(BadBlock{s.line, s.words[0].text + ": want one value"});
  }
  const Token& v = s.words[at];
  auto out = v.kind == Token::kString ? unescape(v.text) : parse_colon_hex(v.text);
  if (!out) return std::unexpected(BadBlock{s.line, s.words[0].text + ": bad octet string"});
  return *out;
}

std::span<const std::uint8_t> bytes(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

bool ending_state(std::string_view state) {
  return state == "free" || state == "released" || state == "expired" || state == "abandoned" ||
         state == "reset" || state == "backup";
}

std::uint32_t lifetime(TimestampNs from, TimestampNs to) {
  if (to == kNeverEnds) return kInfiniteLifetime;
  const TimestampNs s = (to - from) / kNsPerSecond;
  return static_cast<std::uint32_t>(std::min<TimestampNs>(s, kInfiniteLifetime - 1));
}

std::expected<void, BadBlock> lease_v4(const Stmt& block, std::vector<LeaseEvent>& events) {
  if (block.words.size() != 2)
    return std::unexpected(BadBlock{block.line, "lease: want one address"});
  const auto address = IpAddress::parse(block.words[1].text);
  if (!address || !address->is_v4()) {
    return std::unexpected(
        BadBlock{block.line, "lease: '" + block.words[1].text + "' is not IPv4"});
  }
  Dhcpv4Message m;
  m.op = 2;
  std::optional<TimestampNs> starts, ends;
  std::string state = "active";
  for (const auto& s : block.body) {
    if (s.words.empty()) continue;
    const std::string& key = s.words[0].text;
    if (key == "starts" || key == "ends") {
      auto t = time_of(s);
      if (!t) return std::unexpected(t.error());
      (key == "starts" ? starts : ends) = *t;
    } else if (key == "binding" && is(s, 1, "state") && s.words.size() == 3) {
      state = s.words[2].text;
    } else if (key == "hardware" && s.words.size() == 3) {
      auto hw = parse_colon_hex(s.words[2].text);
      if (!hw || hw->size() > 16) return std::unexpected(BadBlock{s.line, "hardware: bad address"});
      m.chaddr_hex = wire::hex(bytes(*hw));
      if (s.words[1].text == "ethernet") {
        if (hw->size() != 6)
          return std::unexpected(BadBlock{s.line, "hardware ethernet: not 6 octets"});
        MacAddress mac{};
        for (std::size_t i = 0; i < 6; ++i) mac[i] = static_cast<std::uint8_t>((*hw)[i]);
        m.mac = mac;
      }
    } else if (key == "uid") {
      auto uid = octets_of(s, 1);
      if (!uid) return std::unexpected(uid.error());
      m.client_id_hex = wire::hex(bytes(*uid));
    } else if (key == "option" && s.words.size() >= 2) {
      const std::string& name = s.words[1].text;
      std::string* field = name == "agent.circuit-id"      ? &m.circuit_id
                           : name == "agent.remote-id"     ? &m.remote_id
                           : name == "agent.subscriber-id" ? &m.subscriber_id
                                                           : nullptr;
      if (field != nullptr) {
        auto v = octets_of(s, 2);
        if (!v) return std::unexpected(v.error());
        *field = std::move(*v);
      }
    }
  }
  if (!starts) return std::unexpected(BadBlock{block.line, "lease without starts"});
  if (*starts == kNeverEnds) return std::unexpected(BadBlock{block.line, "starts never"});
  if (ends && *ends < *starts) return std::unexpected(BadBlock{block.line, "ends before starts"});
  LeaseEvent e;
  e.line = block.line;
  if (ending_state(state)) {
    m.type = Dhcpv4Type::kRelease;
    m.op = 1;
    m.ciaddr = *address;
    e.ts = ends && *ends != kNeverEnds ? *ends : *starts;
  } else if (state == "active") {
    m.type = Dhcpv4Type::kAck;
    m.yiaddr = *address;
    // No `ends`: dhcpd writes one for every lease; without it the open bound applies.
    if (ends) m.lease_seconds = lifetime(*starts, *ends);
    e.ts = *starts;
  } else {
    return std::unexpected(BadBlock{block.line, "binding state '" + state + "' unknown"});
  }
  e.message = std::move(m);
  events.push_back(std::move(e));
  return {};
}

std::expected<void, BadBlock> lease_v6(const Stmt& block, bool little_endian,
                                       std::vector<LeaseEvent>& events) {
  const std::string& kind = block.words[0].text;
  if (block.words.size() != 2 || block.words[1].kind != Token::kString) {
    return std::unexpected(BadBlock{block.line, kind + ": want one quoted IAID+DUID"});
  }
  const auto key = unescape(block.words[1].text);
  if (!key || key->size() < 5) {
    return std::unexpected(BadBlock{block.line, kind + ": IAID+DUID shorter than 5 octets"});
  }
  const auto* k = reinterpret_cast<const std::uint8_t*>(key->data());
  const std::uint32_t iaid = little_endian
                                 ? (std::uint32_t{k[3]} << 24) | (k[2] << 16) | (k[1] << 8) | k[0]
                                 : wire::be32(k);
  const auto duid = bytes(*key).subspan(4);
  std::optional<TimestampNs> cltt;
  std::vector<LeaseEvent> mine;
  for (const auto& s : block.body) {
    if (s.words.empty()) continue;
    if (s.words[0].text == "cltt") {
      auto t = time_of(s);
      if (!t) return std::unexpected(t.error());
      cltt = *t;
    }
  }
  for (const auto& s : block.body) {
    if (!s.block || s.words.empty()) continue;
    const bool addr = s.words[0].text == "iaaddr", prefix = s.words[0].text == "iaprefix";
    if (!addr && !prefix) continue;
    if (s.words.size() != 2)
      return std::unexpected(BadBlock{s.line, s.words[0].text + ": want one value"});
    std::optional<IpPrefix> p;
    if (addr) {
      if (auto a = IpAddress::parse(s.words[1].text); a && !a->is_v4())
        p = IpPrefix::make(*a, 128).value();
    } else if (auto q = IpPrefix::parse(s.words[1].text); q && !q->network().is_v4()) {
      p = *q;
    }
    if (!p)
      return std::unexpected(
          BadBlock{s.line, s.words[0].text + ": '" + s.words[1].text + "' is not IPv6"});
    std::optional<TimestampNs> starts = cltt, ends;
    std::optional<std::uint32_t> max_life, preferred;
    std::string state = "active";
    for (const auto& a : s.body) {
      if (a.words.empty()) continue;
      const std::string& key_word = a.words[0].text;
      if (key_word == "starts" || key_word == "ends") {
        auto t = time_of(a);
        if (!t) return std::unexpected(t.error());
        (key_word == "starts" ? starts : ends) = *t;
      } else if (key_word == "binding" && is(a, 1, "state") && a.words.size() == 3) {
        state = a.words[2].text;
      } else if ((key_word == "max-life" || key_word == "preferred-life") && a.words.size() == 2) {
        const auto n = parse_uint(a.words[1].text, 0xFFFFFFFFu);
        if (!n) return std::unexpected(BadBlock{a.line, key_word + ": not a number"});
        (key_word == "max-life" ? max_life : preferred) = static_cast<std::uint32_t>(*n);
      }
    }
    if (!starts || *starts == kNeverEnds) {
      return std::unexpected(BadBlock{s.line, s.words[0].text + " without starts or cltt"});
    }
    if (ends && *ends < *starts) return std::unexpected(BadBlock{s.line, "ends before starts"});
    Dhcpv6Binding b;
    b.prefix = *p;
    b.iaid = iaid;
    b.delegated = prefix;
    b.preferred_lifetime = preferred.value_or(0);
    LeaseEvent e;
    e.line = s.line;
    if (ending_state(state)) {
      b.valid_lifetime = 0;  // RFC 8415 §18.2.10.1: lifetime 0 withdraws the binding
      e.ts = ends && *ends != kNeverEnds ? *ends : *starts;
    } else if (state == "active") {
      b.valid_lifetime = ends ? lifetime(*starts, *ends) : max_life.value_or(0);
      if (b.valid_lifetime == 0) {
        return std::unexpected(BadBlock{s.line, "active lease without ends or max-life"});
      }
      e.ts = *starts;
    } else {
      return std::unexpected(BadBlock{s.line, "binding state '" + state + "' unknown"});
    }
    Dhcpv6Message m;
    m.type = Dhcpv6Type::kReply;
    m.client_duid_hex = wire::hex(duid);
    m.client_mac = mac_from_duid(duid);
    m.bindings.push_back(b);
    e.message = std::move(m);
    mine.push_back(std::move(e));
  }
  for (auto& e : mine) events.push_back(std::move(e));
  return {};
}

}  // namespace

Result<std::size_t> read_dhcpd_leases(std::istream& in, const ImportLimits& limits,
                                      ImportErrors& errors, std::vector<LeaseEvent>& events) {
  Parser parser(in, limits);
  std::size_t blocks = 0;
  bool little_endian = true;
  for (;;) {
    Stmt s;
    auto got = parser.top(s);
    if (!got) {
      ++blocks;
      if (auto r = errors.add(got.error().line, got.error().why); !r)
        return std::unexpected(r.error());
      continue;
    }
    if (*got == Parser::Got::kEof) break;
    if (s.words.empty()) continue;
    const std::string& kind = s.words[0].text;
    if (kind == "authoring-byte-order" && s.words.size() == 2) {
      little_endian = s.words[1].text != "big-endian";
      continue;
    }
    const bool v4 = kind == "lease", v6 = kind == "ia-na" || kind == "ia-ta" || kind == "ia-pd";
    if (!v4 && !v6) continue;  // server-duid, failover peer, host, class, ...
    if (++blocks > limits.max_records) {
      return fail(ErrorCode::kLimit, fmt::format("more than {} lease blocks", limits.max_records));
    }
    if (!s.block) {
      if (auto r = errors.add(s.line, kind + " without a { } block"); !r)
        return std::unexpected(r.error());
      continue;
    }
    auto ok = v4 ? lease_v4(s, events) : lease_v6(s, little_endian, events);
    if (!ok) {
      if (auto r = errors.add(ok.error().line, ok.error().why); !r)
        return std::unexpected(r.error());
    }
  }
  return blocks;
}

}  // namespace conntrail::capture
