/* agentaudiosrc — the reference documents what the element has.
 *
 * Reads docs/agentaudiosrc.md (the path is the first argument) and checks it
 * against the element class, the way gst-inspect-1.0 lists it:
 *
 * - every property (the element's own and the inherited ones, as under
 *   "Element Properties") has a non-empty blurb and a row in a markdown
 *   table whose first header cell is "property", with a non-empty last cell
 *   (the description); where the table has them, the "type" cell names the
 *   value type, the "default" cell holds the default of a number or boolean,
 *   and the "mutable in" cell matches the GST_PARAM_MUTABLE_* flag;
 *   read-only properties say "read-only" and writable ones do not.
 *   One exception: a property that a GStreamer newer than the one the
 *   reference was written against adds to a parent class (GstBaseSrc 1.24's
 *   automatic-eos) may instead be covered by the generic row of the
 *   inherited-properties table, whose first cell is "*any other*" and whose
 *   "from" cell names the parent classes and the version ("`GstBaseSrc`,
 *   `GstObject`, in GStreamer after 1.22"). On that version or an older one
 *   the generic row covers nothing, and a property of the element's own type
 *   always needs its own row;
 * - every signal gst-inspect-1.0 lists ("Element Actions" and "Element
 *   Signals": the signals of the element's type and its parents below
 *   GstElement) has a row in a "signal" table with a non-empty description,
 *   and its "returns" cell and signature name the return and parameter types;
 *   every action signal also has a section of its own (a heading that is its
 *   name);
 * - every pad template has a row in a "template" table that names its
 *   presence;
 * - no row documents a property, signal or pad template the element lacks;
 * - every level-2 heading is linked from the table of contents and every
 *   in-page link points at a heading.
 *
 * Each failure names what is missing or wrong. */
/* Before gstcheck.h, whose fail() macro breaks the iostream headers. */
#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <gst/check/gstcheck.h>

static const gchar *docs_path = nullptr;

namespace {

struct Table {
  std::vector<std::string> header; /* lower-cased */
  std::vector<std::vector<std::string>> rows;
  int line; /* of the header, 1-based */

  /* Index of the first column whose header contains `name`, or -1. */
  int column(const std::string &name) const {
    for (std::size_t i = 0; i < header.size(); i++)
      if (header[i].find(name) != std::string::npos)
        return static_cast<int>(i);
    return -1;
  }
};

struct Doc {
  std::vector<std::string> lines;
  std::vector<Table> tables;
  std::vector<std::pair<int, std::string>> headings; /* level, text */
};

std::string trim(const std::string &s) {
  std::size_t b = s.find_first_not_of(" \t");
  if (b == std::string::npos)
    return "";
  std::size_t e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return s;
}

/* Splits a markdown table row on the pipes that are not escaped, as GitHub
 * does: a pipe inside a code span splits the cell too, so a row that needs
 * one must escape it. */
std::vector<std::string> split_row(const std::string &line) {
  std::vector<std::string> cells;
  std::string cell;
  for (std::size_t i = 0; i < line.size(); i++) {
    char c = line[i];
    if (c == '\\' && i + 1 < line.size() && line[i + 1] == '|') {
      cell += '|';
      i++;
    } else if (c == '|') {
      cells.push_back(trim(cell));
      cell.clear();
    } else {
      cell += c;
    }
  }
  cells.push_back(trim(cell));
  /* "| a | b |" splits into "", a, b, "". */
  if (!cells.empty() && cells.front().empty())
    cells.erase(cells.begin());
  if (!cells.empty() && cells.back().empty() && trim(line).back() == '|')
    cells.pop_back();
  return cells;
}

bool is_separator(const std::string &line) {
  return line.find("---") != std::string::npos &&
         line.find_first_not_of("|-: \t") == std::string::npos;
}

Doc parse_doc(std::vector<std::string> lines) {
  Doc doc;
  doc.lines = std::move(lines);
  bool fence = false;
  for (std::size_t i = 0; i < doc.lines.size(); i++) {
    const std::string &l = doc.lines[i];
    if (l.rfind("```", 0) == 0) {
      fence = !fence;
      continue;
    }
    if (fence)
      continue;
    if (l.rfind("#", 0) == 0) {
      std::size_t level = l.find_first_not_of('#');
      if (level != std::string::npos && l[level] == ' ')
        doc.headings.emplace_back(static_cast<int>(level), trim(l.substr(level)));
      continue;
    }
    if (l.rfind("|", 0) == 0 && i + 1 < doc.lines.size() &&
        is_separator(doc.lines[i + 1])) {
      Table t;
      t.line = static_cast<int>(i) + 1;
      for (const std::string &h : split_row(l))
        t.header.push_back(lower(h));
      i += 2;
      while (i < doc.lines.size() && doc.lines[i].rfind("|", 0) == 0)
        t.rows.push_back(split_row(doc.lines[i++]));
      i--;
      doc.tables.push_back(t);
    }
  }
  return doc;
}

Doc read_doc(const gchar *path) {
  std::ifstream in(path);
  fail_unless(in.good(), "cannot read %s", path);
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line))
    lines.push_back(line);
  return parse_doc(std::move(lines));
}

/* The generic row of the inherited-properties table: the parent classes
 * (code spans of its "from" cell) whose properties it covers when the
 * running GStreamer is newer than 1.<after_minor>. */
struct GenericRow {
  bool found = false;
  std::set<std::string> classes;
  int after_minor = -1;
  int line = 0;
};

const char *const GENERIC_ROW = "*any other*";

GenericRow generic_row(const Doc &doc) {
  GenericRow g;
  for (const Table &t : doc.tables) {
    if (t.header.empty() || t.header[0] != "property")
      continue;
    for (const auto &row : t.rows) {
      if (row.empty() || row[0] != GENERIC_ROW)
        continue;
      g.found = true;
      g.line = t.line;
      int from = t.column("from");
      const std::string c = from >= 0 && from < static_cast<int>(row.size()) ? row[from] : "";
      for (std::size_t b = c.find('`'); b != std::string::npos; b = c.find('`', b + 1)) {
        std::size_t e = c.find('`', b + 1);
        if (e == std::string::npos)
          break;
        g.classes.insert(c.substr(b + 1, e - b - 1));
        b = e;
      }
      std::size_t v = c.find("after 1.");
      if (v != std::string::npos)
        g.after_minor = std::atoi(c.c_str() + v + 8);
    }
  }
  return g;
}

std::string code(const gchar *name) {
  return std::string("`") + name + "`";
}

/* The rows of tables whose first header cell is `kind` and whose first cell
 * is `name`, each with its table. */
std::vector<std::pair<const Table *, const std::vector<std::string> *>> rows_for(
    const Doc &doc, const std::string &kind, const gchar *name) {
  std::vector<std::pair<const Table *, const std::vector<std::string> *>> found;
  for (const Table &t : doc.tables) {
    if (t.header.empty() || t.header[0] != kind)
      continue;
    for (const auto &row : t.rows)
      if (!row.empty() && row[0] == code(name))
        found.emplace_back(&t, &row);
  }
  return found;
}

std::string joined(const std::vector<std::string> &row) {
  std::string s;
  for (const std::string &c : row)
    s += c + " | ";
  return s;
}

bool contains_ci(const std::string &hay, const std::string &needle) {
  return lower(hay).find(lower(needle)) != std::string::npos;
}

std::string cell(const Table &t, const std::vector<std::string> &row,
                 const std::string &column) {
  int i = t.column(column);
  return i >= 0 && i < static_cast<int>(row.size()) ? row[i] : std::string();
}

/* The default of a number or boolean property as the docs write it; empty
 * for other types. */
std::vector<std::string> default_spellings(GParamSpec *pspec) {
  const GValue *v = g_param_spec_get_default_value(pspec);
  std::vector<std::string> s;
  if (G_VALUE_HOLDS_BOOLEAN(v)) {
    s.push_back(g_value_get_boolean(v) ? "true" : "false");
  } else if (G_VALUE_HOLDS_UINT(v)) {
    s.push_back(std::to_string(g_value_get_uint(v)));
  } else if (G_VALUE_HOLDS_INT(v)) {
    s.push_back(std::to_string(g_value_get_int(v)));
  } else if (G_VALUE_HOLDS_UINT64(v)) {
    s.push_back(std::to_string(g_value_get_uint64(v)));
  } else if (G_VALUE_HOLDS_INT64(v)) {
    s.push_back(std::to_string(g_value_get_int64(v)));
  } else if (G_VALUE_HOLDS_DOUBLE(v)) {
    gchar buf[G_ASCII_DTOSTR_BUF_SIZE];
    g_ascii_formatd(buf, sizeof buf, "%.1f", g_value_get_double(v));
    s.push_back(buf);
  }
  return s;
}

/* How a type is written in a C signature. */
std::string c_type_name(GType type) {
  GType t = type & ~G_SIGNAL_TYPE_STATIC_SCOPE;
  if (t == G_TYPE_NONE)
    return "void";
  if (t == G_TYPE_STRING)
    return "gchar";
  return g_type_name(t);
}

/* GitHub's anchor for a heading (ASCII headings). */
std::string anchor(const std::string &heading) {
  std::string a;
  for (unsigned char c : heading) {
    if (std::isalnum(c) || c == '-' || c == '_')
      a += static_cast<char>(std::tolower(c));
    else if (c == ' ')
      a += '-';
  }
  return a;
}

struct Failures {
  std::vector<std::string> list;
  void add(const std::string &what) { list.push_back(what); }
  void check(const char *topic) {
    std::string all;
    for (const std::string &f : list)
      all += "\n  " + f;
    fail_unless(list.empty(), "%s: %d problem(s) in %s:%s", topic,
                static_cast<int>(list.size()), docs_path, all.c_str());
  }
};

GstElement *make_element() {
  GstElement *e = gst_element_factory_make("agentaudiosrc", nullptr);
  fail_unless(e != nullptr, "agentaudiosrc not found (GST_PLUGIN_PATH)");
  return e;
}

/* What is wrong with the properties of `klass` in `doc`, when the running
 * GStreamer is 1.`minor`. `own` is the element's type: its properties always
 * need a row of their own; `covered` gets the inherited ones that only the
 * generic row documents. */
std::vector<std::string> property_problems(const Doc &doc, GObjectClass *klass, GType own,
                                           guint minor,
                                           std::vector<std::string> *covered = nullptr) {
  guint n;
  GParamSpec **specs = g_object_class_list_properties(klass, &n);
  Failures f;
  std::set<std::string> names;
  const GenericRow generic = generic_row(doc);

  if (generic.found && generic.after_minor < 0)
    f.add("generic row (table at line " + std::to_string(generic.line) +
          "): its \"from\" cell does not say \"after 1.N\"");
  for (guint i = 0; i < n; i++) {
    GParamSpec *p = specs[i];
    const gchar *name = g_param_spec_get_name(p);
    names.insert(name);
    const gchar *blurb = g_param_spec_get_blurb(p);
    if (blurb == nullptr || trim(blurb).empty())
      f.add(std::string("property ") + name + ": empty blurb in the element");

    auto rows = rows_for(doc, "property", name);
    if (rows.empty()) {
      const gchar *owner = g_type_name(p->owner_type);
      if (p->owner_type != own && generic.found && generic.after_minor >= 0 &&
          static_cast<int>(minor) > generic.after_minor &&
          generic.classes.count(owner) > 0) {
        if (covered != nullptr)
          covered->push_back(std::string(name) + " (" + owner + ")");
        continue;
      }
      f.add(std::string("property ") + name + ": no row in a \"property\" table" +
            (p->owner_type == own ? "" : std::string(" (inherited from ") + owner + ")"));
      continue;
    }
    if (rows.size() > 1)
      f.add(std::string("property ") + name + ": documented in more than one row");
    const Table &t = *rows[0].first;
    const std::vector<std::string> &row = *rows[0].second;
    const std::string where = std::string("property ") + name + " (table at line " +
                              std::to_string(t.line) + ")";

    if (row.size() != t.header.size())
      f.add(where + ": row has " + std::to_string(row.size()) + " cells, header " +
            std::to_string(t.header.size()));
    if (row.size() < 2 || trim(row.back()).empty() || row.back() == "-")
      f.add(where + ": no description");

    std::string type = g_type_name(G_PARAM_SPEC_VALUE_TYPE(p));
    if (t.column("type") >= 0 && cell(t, row, "type").find(type) == std::string::npos)
      f.add(where + ": type cell does not name " + type);

    if (t.column("default") >= 0) {
      std::string d = cell(t, row, "default");
      for (const std::string &want : default_spellings(p))
        if (!contains_ci(d, want))
          f.add(where + ": default cell \"" + d + "\" does not hold " + want);
    }

    const bool writable = (p->flags & G_PARAM_WRITABLE) != 0;
    const std::string all = joined(row);
    if (!writable && !contains_ci(all, "read-only"))
      f.add(where + ": read-only, but the row does not say so");
    if (writable && contains_ci(all, "read-only"))
      f.add(where + ": writable, but the row says read-only");

    if (t.column("mutable") >= 0) {
      std::string m = cell(t, row, "mutable");
      if (p->flags & GST_PARAM_MUTABLE_PLAYING) {
        if (m.find("PLAYING") == std::string::npos)
          f.add(where + ": GST_PARAM_MUTABLE_PLAYING, but \"mutable in\" lacks PLAYING");
      } else if (p->flags & GST_PARAM_MUTABLE_PAUSED) {
        if (m.find("PAUSED") == std::string::npos ||
            m.find("PLAYING") != std::string::npos)
          f.add(where + ": GST_PARAM_MUTABLE_PAUSED, but \"mutable in\" is \"" + m +
                "\"");
      } else if (p->flags & GST_PARAM_MUTABLE_READY) {
        if (m.find("READY") == std::string::npos ||
            m.find("PLAYING") != std::string::npos)
          f.add(where + ": GST_PARAM_MUTABLE_READY, but \"mutable in\" is \"" + m + "\"");
      } else if (writable && m.find("PLAYING") != std::string::npos) {
        f.add(where + ": no GST_PARAM_MUTABLE_* flag, but \"mutable in\" says PLAYING");
      }
    }
  }
  g_free(specs);

  for (const Table &t : doc.tables)
    if (!t.header.empty() && t.header[0] == "property")
      for (const auto &row : t.rows) {
        std::string n0 = row.empty() ? "" : row[0];
        if (n0 == GENERIC_ROW)
          continue;
        if (n0.size() < 3 || names.count(n0.substr(1, n0.size() - 2)) == 0)
          f.add("table at line " + std::to_string(t.line) + " documents " + n0 +
                ", which is not a property of agentaudiosrc");
      }

  return f.list;
}

}  // namespace

GST_START_TEST(test_every_property_is_documented) {
  Doc doc = read_doc(docs_path);
  GstElement *element = make_element();
  std::vector<std::string> covered;
  guint major, minor, micro, nano;
  gst_version(&major, &minor, &micro, &nano);
  Failures f;
  f.list = property_problems(doc, G_OBJECT_GET_CLASS(element), G_OBJECT_TYPE(element),
                             minor, &covered);
  for (const std::string &c : covered)
    g_print("property %s: no row of its own, covered by the generic row for what "
            "GStreamer %u.%u adds to a parent class\n",
            c.c_str(), major, minor);
  gst_object_unref(element);
  f.check("properties");
}
GST_END_TEST;

/* The rules above on a made-up reference: the generic row covers a parent
 * class's property only on a newer GStreamer than it names, and never one of
 * the element's own. */
GST_START_TEST(test_generic_row_covers_only_newer_inherited_properties) {
  GstElement *element = make_element();
  GObjectClass *klass = G_OBJECT_GET_CLASS(element);
  const GType own = G_OBJECT_TYPE(element);
  /* Every property gets a row, except num-buffers (GstBaseSrc) and ptime
   * (ours). */
  std::vector<std::string> lines = {
      "| property | type | from | description |",
      "|---|---|---|---|",
  };
  guint n;
  GParamSpec **specs = g_object_class_list_properties(klass, &n);
  for (guint i = 0; i < n; i++) {
    const std::string name = g_param_spec_get_name(specs[i]);
    if (name == "num-buffers" || name == "ptime")
      continue;
    const bool ro = (specs[i]->flags & G_PARAM_WRITABLE) == 0;
    lines.push_back("| `" + name + "` | " + g_type_name(G_PARAM_SPEC_VALUE_TYPE(specs[i])) +
                    " | | " + (ro ? "read-only; " : "") + "something |");
  }
  g_free(specs);
  auto has = [](const std::vector<std::string> &v, const std::string &what) {
    for (const std::string &s : v)
      if (s.find(what) != std::string::npos)
        return true;
    return false;
  };

  /* No generic row: both are missing. */
  std::vector<std::string> p = property_problems(parse_doc(lines), klass, own, 99);
  fail_unless(has(p, "property ptime: no row"));
  fail_unless(has(p, "property num-buffers: no row"));

  /* A generic row for GstBaseSrc after 1.22: num-buffers is covered on 1.24,
   * not on 1.22; ptime never. */
  lines.push_back("| *any other* | | `GstBaseSrc`, `GstObject`, in GStreamer after 1.22 | "
                  "What a later GStreamer adds |");
  std::vector<std::string> covered;
  p = property_problems(parse_doc(lines), klass, own, 24, &covered);
  fail_unless(has(p, "property ptime: no row"));
  fail_if(has(p, "num-buffers"), "num-buffers not covered on 1.24");
  fail_unless(has(covered, "num-buffers (GstBaseSrc)"));
  fail_unless(p.size() == 1, "%d problems, expected only ptime's", (int)p.size());
  p = property_problems(parse_doc(lines), klass, own, 22);
  fail_unless(has(p, "property num-buffers: no row"));

  /* It covers only the classes it names. */
  lines.back() = "| *any other* | | `GstObject`, in GStreamer after 1.22 | What a later "
                 "GStreamer adds |";
  p = property_problems(parse_doc(lines), klass, own, 24);
  fail_unless(has(p, "property num-buffers: no row"));

  /* Without "after 1.N" it is an error itself. */
  lines.back() = "| *any other* | | `GstBaseSrc` | What a later GStreamer adds |";
  p = property_problems(parse_doc(lines), klass, own, 24);
  fail_unless(has(p, "does not say \"after 1.N\""));
  fail_unless(has(p, "property num-buffers: no row"));
  gst_object_unref(element);
}
GST_END_TEST;

GST_START_TEST(test_every_signal_is_documented) {
  Doc doc = read_doc(docs_path);
  GstElement *element = make_element();
  Failures f;
  std::set<std::string> names;
  guint listed = 0;

  /* What gst-inspect-1.0 lists: the signals of the type and its parents,
   * stopping at GstElement. */
  for (GType type = G_OBJECT_TYPE(element); type != 0 && type != GST_TYPE_ELEMENT;
       type = g_type_parent(type)) {
    guint n;
    guint *ids = g_signal_list_ids(type, &n);
    for (guint i = 0; i < n; i++) {
      GSignalQuery q;
      g_signal_query(ids[i], &q);
      listed++;
      names.insert(q.signal_name);
      auto rows = rows_for(doc, "signal", q.signal_name);
      const std::string kind = (q.signal_flags & G_SIGNAL_ACTION) ? "action " : "";
      if (rows.empty()) {
        f.add(kind + "signal " + q.signal_name + ": no row in a \"signal\" table");
        continue;
      }
      if (rows.size() > 1)
        f.add(kind + "signal " + q.signal_name + ": documented in more than one row");
      const Table &t = *rows[0].first;
      const std::vector<std::string> &row = *rows[0].second;
      const std::string where = kind + "signal " + q.signal_name + " (table at line " +
                                std::to_string(t.line) + ")";
      if (row.size() != t.header.size())
        f.add(where + ": row has " + std::to_string(row.size()) + " cells, header " +
              std::to_string(t.header.size()));
      if (row.size() < 2 || trim(row.back()).empty())
        f.add(where + ": no description");
      std::string ret = c_type_name(q.return_type);
      if (t.column("return") >= 0 &&
          cell(t, row, "return").find(ret) == std::string::npos)
        f.add(where + ": returns cell does not name " + ret);
      if (q.signal_flags & G_SIGNAL_ACTION) {
        bool heading = false;
        for (const auto &h : doc.headings)
          heading = heading || h.second == q.signal_name;
        if (!heading)
          f.add(where + ": no \"### " + q.signal_name + "\" section");
      }
      std::string all = joined(row);
      for (guint p = 0; p < q.n_params; p++) {
        std::string param = c_type_name(q.param_types[p]);
        if (all.find(param) == std::string::npos)
          f.add(where + ": row does not name the parameter type " + param);
      }
    }
    g_free(ids);
  }
  fail_unless(listed >= 7, "expected the seven action signals, found %u", listed);

  for (const Table &t : doc.tables)
    if (!t.header.empty() && t.header[0] == "signal")
      for (const auto &row : t.rows) {
        std::string n0 = row.empty() ? "" : row[0];
        if (n0.size() < 3 || names.count(n0.substr(1, n0.size() - 2)) == 0)
          f.add("table at line " + std::to_string(t.line) + " documents " + n0 +
                ", which is not a signal of agentaudiosrc");
      }

  gst_object_unref(element);
  f.check("signals");
}
GST_END_TEST;

GST_START_TEST(test_every_pad_template_is_documented) {
  Doc doc = read_doc(docs_path);
  GstElement *element = make_element();
  Failures f;
  std::set<std::string> names;

  for (GList *l = gst_element_class_get_pad_template_list(GST_ELEMENT_GET_CLASS(element));
       l != nullptr; l = l->next) {
    GstPadTemplate *templ = GST_PAD_TEMPLATE(l->data);
    const gchar *name = GST_PAD_TEMPLATE_NAME_TEMPLATE(templ);
    names.insert(name);
    auto rows = rows_for(doc, "template", name);
    if (rows.empty()) {
      f.add(std::string("pad template ") + name + ": no row in a \"template\" table");
      continue;
    }
    const Table &t = *rows[0].first;
    const std::vector<std::string> &row = *rows[0].second;
    const std::string where = std::string("pad template ") + name;
    const gchar *presence = GST_PAD_TEMPLATE_PRESENCE(templ) == GST_PAD_ALWAYS ? "always"
                            : GST_PAD_TEMPLATE_PRESENCE(templ) == GST_PAD_REQUEST
                                ? "request"
                                : "sometimes";
    if (t.column("presence") >= 0 && !contains_ci(cell(t, row, "presence"), presence))
      f.add(where + ": presence cell does not say " + presence);
    if (row.size() < 2 || trim(row.back()).empty())
      f.add(where + ": no description");
  }

  for (const Table &t : doc.tables)
    if (!t.header.empty() && t.header[0] == "template")
      for (const auto &row : t.rows) {
        std::string n0 = row.empty() ? "" : row[0];
        if (n0.size() < 3 || names.count(n0.substr(1, n0.size() - 2)) == 0)
          f.add("table at line " + std::to_string(t.line) + " documents " + n0 +
                ", which is not a pad template of agentaudiosrc");
      }

  gst_object_unref(element);
  f.check("pad templates");
}
GST_END_TEST;

GST_START_TEST(test_contents_and_links) {
  Doc doc = read_doc(docs_path);
  Failures f;
  std::set<std::string> anchors;
  std::map<std::string, int> seen;

  for (const auto &h : doc.headings) {
    std::string a = anchor(h.second);
    int n = seen[a]++;
    anchors.insert(n == 0 ? a : a + "-" + std::to_string(n));
  }

  /* Every in-page link, outside code blocks and code spans. */
  std::set<std::string> linked;
  bool fence = false;
  for (const std::string &l : doc.lines) {
    if (l.rfind("```", 0) == 0) {
      fence = !fence;
      continue;
    }
    if (fence)
      continue;
    bool span = false;
    for (std::size_t i = 0; i < l.size(); i++) {
      if (l[i] == '`')
        span = !span;
      if (span || l.compare(i, 3, "](#") != 0)
        continue;
      std::size_t end = l.find(')', i + 3);
      if (end == std::string::npos)
        continue;
      std::string target = l.substr(i + 3, end - i - 3);
      linked.insert(target);
      if (anchors.count(target) == 0)
        f.add("link to #" + target + ", which is no heading");
    }
  }

  for (const auto &h : doc.headings)
    if (h.first == 2 && h.second != "Contents" && linked.count(anchor(h.second)) == 0)
      f.add("section \"" + h.second + "\" is not in the table of contents");

  f.check("contents and links");
}
GST_END_TEST;

static Suite *docs_suite(void) {
  Suite *s = suite_create("docs");
  TCase *tc = tcase_create("reference");
  suite_add_tcase(s, tc);
  tcase_add_test(tc, test_every_property_is_documented);
  tcase_add_test(tc, test_generic_row_covers_only_newer_inherited_properties);
  tcase_add_test(tc, test_every_signal_is_documented);
  tcase_add_test(tc, test_every_pad_template_is_documented);
  tcase_add_test(tc, test_contents_and_links);
  return s;
}

int main(int argc, char **argv) {
  gst_check_init(&argc, &argv);
  if (argc < 2) {
    g_printerr("usage: %s docs/agentaudiosrc.md\n", argv[0]);
    return 2;
  }
  docs_path = argv[1];
  return gst_check_run_suite(docs_suite(), "docs", __FILE__);
}
