#include "components/connectors/routing/condition.h"

#include <cctype>
#include <charconv>
#include <map>

#include <re2/re2.h>

namespace weft::connectors::routing {

std::optional<Context> parse_context(std::string_view name) {
  static const std::map<std::string_view, Context> kNames = {
      {"resource", Context::kResource}, {"request", Context::kRequest},
      {"span", Context::kSpan},         {"log", Context::kLog},
      {"metric", Context::kMetric},     {"datapoint", Context::kDataPoint}};
  auto it = kNames.find(name);
  if (it == kNames.end()) return std::nullopt;
  return it->second;
}

namespace {

// A value a condition compares: what a path reads, or a literal.
struct Value {
  enum Type { kNil, kString, kInt, kDouble, kBool } type = kNil;
  std::string_view s;
  int64_t i = 0;
  double d = 0;
  bool b = false;
};

Value from_any(const opentelemetry::proto::common::v1::AnyValue& v) {
  using Any = opentelemetry::proto::common::v1::AnyValue;
  Value out;
  switch (v.value_case()) {
    case Any::kStringValue:
      out.type = Value::kString;
      out.s = v.string_value();
      break;
    case Any::kIntValue:
      out.type = Value::kInt;
      out.i = v.int_value();
      break;
    case Any::kDoubleValue:
      out.type = Value::kDouble;
      out.d = v.double_value();
      break;
    case Any::kBoolValue:
      out.type = Value::kBool;
      out.b = v.bool_value();
      break;
    default:
      break;  // arrays, maps and bytes compare as nil
  }
  return out;
}

Value lookup(const Attributes* attributes, const std::string& key) {
  if (attributes == nullptr) return {};
  for (const auto& kv : *attributes) {
    if (kv.key() == key) return from_any(kv.value());
  }
  return {};
}

Value string_value(std::string_view s) {
  Value v;
  v.type = Value::kString;
  v.s = s;
  return v;
}

enum class Op { kEq, kNe, kLt, kLe, kGt, kGe };

// -1, 0, 1, or nullopt when the two cannot be ordered (different types, nil).
std::optional<int> compare(const Value& a, const Value& b) {
  auto sign = [](auto x, auto y) { return x < y ? -1 : (y < x ? 1 : 0); };
  const bool an = a.type == Value::kInt || a.type == Value::kDouble;
  const bool bn = b.type == Value::kInt || b.type == Value::kDouble;
  if (an && bn) {
    if (a.type == Value::kInt && b.type == Value::kInt) return sign(a.i, b.i);
    const double x = a.type == Value::kInt ? static_cast<double>(a.i) : a.d;
    const double y = b.type == Value::kInt ? static_cast<double>(b.i) : b.d;
    return sign(x, y);
  }
  if (a.type != b.type) return std::nullopt;
  switch (a.type) {
    case Value::kString:
      return sign(a.s, b.s);
    case Value::kBool:
      return sign(a.b, b.b);
    default:
      return std::nullopt;  // nil
  }
}

}  // namespace

struct Condition::Node {
  enum Kind { kConst, kNot, kAnd, kOr, kCompare, kMatch } kind = kConst;
  bool constant = false;
  std::vector<std::shared_ptr<const Node>> children;
  // An operand: a path (one of the names below) or a literal.
  struct Operand {
    enum Path { kLiteral, kAttr, kResourceAttr, kRequest, kName, kMetricName, kSevNum, kSevText };
    Path path = kLiteral;
    std::string key;
    Value literal;
    std::string literal_text;  // owns a string literal's text
  };
  Operand left, right;
  Op op = Op::kEq;
  std::shared_ptr<const RE2> regex;

  static Value read(const Operand& o, const Subject& s) {
    switch (o.path) {
      case Operand::kLiteral: {
        Value v = o.literal;
        if (v.type == Value::kString) v.s = o.literal_text;
        return v;
      }
      case Operand::kAttr:
        return lookup(s.attributes, o.key);
      case Operand::kResourceAttr:
        return lookup(s.resource, o.key);
      case Operand::kRequest: {
        if (s.client == nullptr) return {};
        auto v = s.client->metadata_or_auth(o.key);
        return v ? string_value(*v) : Value{};
      }
      case Operand::kName:
        return string_value(s.name);
      case Operand::kMetricName:
        return string_value(s.metric_name);
      case Operand::kSevNum: {
        Value v;
        v.type = Value::kInt;
        v.i = s.severity_number;
        return v;
      }
      case Operand::kSevText:
        return string_value(s.severity_text);
    }
    return {};
  }

  [[nodiscard]] bool eval(const Subject& s) const {
    switch (kind) {
      case kConst:
        return constant;
      case kNot:
        return !children[0]->eval(s);
      case kAnd:
        for (const auto& c : children) {
          if (!c->eval(s)) return false;
        }
        return true;
      case kOr:
        for (const auto& c : children) {
          if (c->eval(s)) return true;
        }
        return false;
      case kMatch: {
        Value v = read(left, s);
        if (v.type != Value::kString) return false;
        return RE2::PartialMatch(re2::StringPiece(v.s.data(), v.s.size()), *regex);
      }
      case kCompare: {
        const Value a = read(left, s), b = read(right, s);
        if (op == Op::kEq || op == Op::kNe) {
          const bool both_nil = a.type == Value::kNil && b.type == Value::kNil;
          auto c = compare(a, b);
          const bool equal = both_nil || (c && *c == 0);
          return op == Op::kEq ? equal : !equal;
        }
        auto c = compare(a, b);
        if (!c) return false;
        switch (op) {
          case Op::kLt:
            return *c < 0;
          case Op::kLe:
            return *c <= 0;
          case Op::kGt:
            return *c > 0;
          case Op::kGe:
            return *c >= 0;
          default:
            return false;
        }
      }
    }
    return false;
  }
};

namespace {

using Node = Condition::Node;
using NodePtr = std::shared_ptr<const Node>;

class Parser {
 public:
  Parser(std::string_view text, Context context) : text_(text), context_(context) {}

  Result<NodePtr> parse() {
    NodePtr root = parse_or();
    skip_space();
    if (error_.empty() && pos_ < text_.size()) fail("unexpected '" + std::string(rest(12)) + "'");
    if (!error_.empty()) return Status::invalid_argument(error_);
    return root;
  }

 private:
  std::string_view rest(size_t n) const { return text_.substr(pos_, n); }
  void skip_space() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_])) != 0) {
      ++pos_;
    }
  }
  void fail(const std::string& message) {
    if (error_.empty()) error_ = message + " at offset " + std::to_string(pos_);
  }
  bool eat(std::string_view token) {
    skip_space();
    if (text_.substr(pos_, token.size()) != token) return false;
    // A word must end where the token does ("and" is not the start of "android").
    const size_t end = pos_ + token.size();
    if (std::isalpha(static_cast<unsigned char>(token.back())) != 0 && end < text_.size() &&
        (std::isalnum(static_cast<unsigned char>(text_[end])) != 0 || text_[end] == '_')) {
      return false;
    }
    pos_ = end;
    return true;
  }
  std::string word() {
    skip_space();
    size_t start = pos_;
    while (pos_ < text_.size() && (std::isalnum(static_cast<unsigned char>(text_[pos_])) != 0 ||
                                   text_[pos_] == '_' || text_[pos_] == '.')) {
      ++pos_;
    }
    return std::string(text_.substr(start, pos_ - start));
  }
  std::optional<std::string> string_literal() {
    skip_space();
    if (pos_ >= text_.size() || text_[pos_] != '"') return std::nullopt;
    std::string out;
    for (++pos_; pos_ < text_.size(); ++pos_) {
      char c = text_[pos_];
      if (c == '"') {
        ++pos_;
        return out;
      }
      if (c == '\\' && pos_ + 1 < text_.size()) {
        c = text_[++pos_];
        if (c == 'n') c = '\n';
        if (c == 't') c = '\t';
      }
      out += c;
    }
    fail("unterminated string");
    return std::nullopt;
  }

  NodePtr combine(Node::Kind kind, std::vector<NodePtr> children) {
    if (children.size() == 1) return children[0];
    auto n = std::make_shared<Node>();
    n->kind = kind;
    n->children = std::move(children);
    return n;
  }
  NodePtr parse_or() {
    std::vector<NodePtr> parts{parse_and()};
    while (error_.empty() && eat("or")) parts.push_back(parse_and());
    return combine(Node::kOr, std::move(parts));
  }
  NodePtr parse_and() {
    std::vector<NodePtr> parts{parse_unary()};
    while (error_.empty() && eat("and")) parts.push_back(parse_unary());
    return combine(Node::kAnd, std::move(parts));
  }
  NodePtr parse_unary() {
    auto n = std::make_shared<Node>();
    if (eat("not")) {
      n->kind = Node::kNot;
      n->children.push_back(parse_unary());
      return n;
    }
    if (eat("(")) {
      NodePtr inner = parse_or();
      if (!eat(")")) fail("expected ')'");
      return inner;
    }
    if (eat("IsMatch")) {
      if (!eat("(")) fail("expected '(' after IsMatch");
      n->kind = Node::kMatch;
      n->left = operand();
      if (!eat(",")) fail("expected ',' in IsMatch");
      auto pattern = string_literal();
      if (!pattern) {
        fail("IsMatch takes a regular expression in double quotes");
        return n;
      }
      auto re = std::make_shared<RE2>(*pattern, RE2::Quiet);
      if (!re->ok()) fail("bad regular expression \"" + *pattern + "\": " + re->error());
      n->regex = std::move(re);
      if (!eat(")")) fail("expected ')' after IsMatch's arguments");
      return n;
    }
    const size_t start = pos_;
    Node::Operand left = operand();
    static const std::vector<std::pair<std::string_view, Op>> kOps = {
        {"==", Op::kEq}, {"!=", Op::kNe}, {"<=", Op::kLe},
        {">=", Op::kGe}, {"<", Op::kLt},  {">", Op::kGt}};
    for (const auto& [token, op] : kOps) {
      if (eat(token)) {
        n->kind = Node::kCompare;
        n->op = op;
        n->left = std::move(left);
        n->right = operand();
        return n;
      }
    }
    // A lone true or false.
    if (left.path == Node::Operand::kLiteral && left.literal.type == Value::kBool) {
      n->kind = Node::kConst;
      n->constant = left.literal.b;
      return n;
    }
    pos_ = std::max(pos_, start);
    fail("expected a comparison (==, !=, <, <=, >, >=), IsMatch(...), true or false");
    return n;
  }

  std::optional<std::string> bracket_key() {
    if (!eat("[")) {
      fail("expected [\"key\"]");
      return std::nullopt;
    }
    auto key = string_literal();
    if (!key) fail("expected a key in double quotes");
    if (!eat("]")) fail("expected ']'");
    return key;
  }

  Node::Operand operand() {
    using O = Node::Operand;
    O o;
    skip_space();
    if (auto s = string_literal()) {
      o.literal.type = Value::kString;
      o.literal_text = *s;
      return o;
    }
    if (pos_ < text_.size() &&
        (std::isdigit(static_cast<unsigned char>(text_[pos_])) != 0 || text_[pos_] == '-')) {
      size_t end = pos_ + 1;
      while (end < text_.size() && (std::isdigit(static_cast<unsigned char>(text_[end])) != 0 ||
                                    text_[end] == '.' || text_[end] == 'e' || text_[end] == 'E')) {
        ++end;
      }
      const std::string number(text_.substr(pos_, end - pos_));
      if (number.find_first_of(".eE") == std::string::npos) {
        o.literal.type = Value::kInt;
        auto [p, ec] = std::from_chars(number.data(), number.data() + number.size(), o.literal.i);
        if (ec != std::errc() || p != number.data() + number.size()) fail("bad number " + number);
      } else {
        o.literal.type = Value::kDouble;
        try {
          o.literal.d = std::stod(number);
        } catch (...) {
          fail("bad number " + number);
        }
      }
      pos_ = end;
      return o;
    }
    const size_t at = pos_;
    const std::string w = word();
    const bool item =
        context_ == Context::kSpan || context_ == Context::kLog || context_ == Context::kDataPoint;
    auto refuse = [&](const std::string& what) {
      pos_ = at;
      fail(what);
    };
    if (w == "true" || w == "false") {
      o.literal.type = Value::kBool;
      o.literal.b = w == "true";
    } else if (w == "nil") {
      o.literal.type = Value::kNil;
    } else if (w.rfind("SEVERITY_NUMBER_", 0) == 0) {
      static const std::map<std::string, int64_t> kLevels = {
          {"UNSPECIFIED", 0}, {"TRACE", 1},  {"TRACE2", 2},  {"TRACE3", 3},  {"TRACE4", 4},
          {"DEBUG", 5},       {"DEBUG2", 6}, {"DEBUG3", 7},  {"DEBUG4", 8},  {"INFO", 9},
          {"INFO2", 10},      {"INFO3", 11}, {"INFO4", 12},  {"WARN", 13},   {"WARN2", 14},
          {"WARN3", 15},      {"WARN4", 16}, {"ERROR", 17},  {"ERROR2", 18}, {"ERROR3", 19},
          {"ERROR4", 20},     {"FATAL", 21}, {"FATAL2", 22}, {"FATAL3", 23}, {"FATAL4", 24}};
      auto it = kLevels.find(w.substr(16));
      if (it == kLevels.end()) {
        refuse("unknown severity " + w);
      } else {
        o.literal.type = Value::kInt;
        o.literal.i = it->second;
      }
    } else if (w == "attributes") {
      if (context_ == Context::kRequest || context_ == Context::kMetric) {
        refuse("attributes is not a path of the " + context_name() + " context");
      }
      o.path = O::kAttr;
      if (auto k = bracket_key()) o.key = *k;
    } else if (w == "resource.attributes") {
      if (!item && context_ != Context::kMetric) {
        refuse("resource.attributes is a path of the span, log, metric and datapoint contexts");
      }
      o.path = O::kResourceAttr;
      if (auto k = bracket_key()) o.key = *k;
    } else if (w == "request") {
      if (context_ != Context::kRequest) refuse("request[...] needs context: request");
      o.path = O::kRequest;
      if (auto k = bracket_key()) o.key = *k;
    } else if (w == "name" && (context_ == Context::kSpan || context_ == Context::kMetric)) {
      o.path = O::kName;
    } else if (w == "metric.name" && context_ == Context::kDataPoint) {
      o.path = O::kMetricName;
    } else if (w == "severity_number" && context_ == Context::kLog) {
      o.path = O::kSevNum;
    } else if (w == "severity_text" && context_ == Context::kLog) {
      o.path = O::kSevText;
    } else if (w.empty()) {
      refuse("expected a value");
    } else {
      refuse("'" + w + "' is not supported in the " + context_name() +
             " context (weft's routing conditions read attributes[\"k\"], "
             "resource.attributes[\"k\"], request[\"k\"], name, metric.name, severity_number "
             "and severity_text)");
    }
    return o;
  }

  std::string context_name() const {
    switch (context_) {
      case Context::kResource:
        return "resource";
      case Context::kRequest:
        return "request";
      case Context::kSpan:
        return "span";
      case Context::kLog:
        return "log";
      case Context::kMetric:
        return "metric";
      case Context::kDataPoint:
        return "datapoint";
    }
    return "?";
  }

  std::string_view text_;
  Context context_;
  size_t pos_ = 0;
  std::string error_;
};

}  // namespace

Result<Condition> Condition::parse(std::string_view text, Context context, bool statement) {
  if (statement) {
    // "route() where <condition>"; a statement without a where clause routes everything.
    const size_t start = text.find_first_not_of(" \t");
    if (start == std::string_view::npos || text.substr(start, 7) != "route()") {
      return Status::invalid_argument("a routing statement is route() where <condition>");
    }
    text = text.substr(start + 7);
    const size_t where = text.find("where");
    if (where == std::string_view::npos) {
      if (text.find_first_not_of(" \t") != std::string_view::npos) {
        return Status::invalid_argument("expected 'where' after route()");
      }
      text = "true";
    } else {
      if (text.substr(0, where).find_first_not_of(" \t") != std::string_view::npos) {
        return Status::invalid_argument("expected 'where' after route()");
      }
      text = text.substr(where + 5);
    }
  }
  Parser parser(text, context);
  auto root = parser.parse();
  if (!root.ok()) return root.status();
  Condition c;
  c.context_ = context;
  c.root_ = std::move(*root);
  return c;
}

bool Condition::matches(const Subject& subject) const {
  if (context_ == Context::kResource) {
    // In the resource context attributes are the resource's.
    Subject s = subject;
    s.attributes = subject.resource;
    return root_->eval(s);
  }
  return root_->eval(subject);
}

}  // namespace weft::connectors::routing
