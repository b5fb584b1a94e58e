/* agentaudiosrc — writes the plugin's entry of a GStreamer documentation cache
 * (gst_plugins_cache.json, the file GStreamer's gst-hotdoc-plugins-scanner
 * writes and hotdoc's GStreamer extension reads) for the plugins found on the
 * plugin path whose name is given (default "agentaudio").
 *
 *   agentaudio-plugins-cache [PLUGIN] > gst_plugins_cache.json
 *
 * Debian ships no gst-hotdoc-plugins-scanner, so this is our own writer of the
 * same layout: per plugin its description, filename (without directory and
 * suffix), license, package, source, url, tracers, other-types and elements;
 * per element its factory metadata, rank, type hierarchy, pad templates, and
 * the properties and signals its own type adds (inherited ones belong to the
 * parent class's entry). Values are strings, as the scanner writes them; keys
 * are sorted and indented by four, as the cache files GStreamer keeps are. */
#include <gst/gst.h>

#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace {

/* A JSON value: string, boolean, array or object (keys sorted). */
struct Json {
  enum Kind { STRING, BOOL, ARRAY, OBJECT } kind = OBJECT;
  std::string str;
  bool b = false;
  std::vector<Json> items;
  std::map<std::string, Json> members;

  static Json s(const std::string &v) {
    Json j;
    j.kind = STRING;
    j.str = v;
    return j;
  }
  static Json boolean(bool v) {
    Json j;
    j.kind = BOOL;
    j.b = v;
    return j;
  }
  static Json array() {
    Json j;
    j.kind = ARRAY;
    return j;
  }
  Json &operator[](const std::string &key) { return members[key]; }
};

/* JSON string with everything outside printable ASCII escaped (UTF-16 \u,
 * as Python's json module writes it). */
std::string quote(const std::string &in) {
  std::string out = "\"";
  const gchar *p = in.c_str();
  const gchar *end = p + in.size();
  while (p < end) {
    gunichar c = g_utf8_get_char_validated(p, end - p);
    if (c == (gunichar)-1 || c == (gunichar)-2) {
      c = 0xfffd; /* not UTF-8: one replacement character per byte */
      p++;
    } else {
      p = g_utf8_next_char(p);
    }
    char buf[16];
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else if (c < 0x10000) {
      g_snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      c -= 0x10000;
      g_snprintf(buf, sizeof buf, "\\u%04x\\u%04x", 0xd800 + (c >> 10), 0xdc00 + (c & 0x3ff));
      out += buf;
    }
  }
  return out + "\"";
}

void write(const Json &j, std::string &out, int indent) {
  const std::string pad(indent + 4, ' ');
  switch (j.kind) {
    case Json::STRING:
      out += quote(j.str);
      break;
    case Json::BOOL:
      out += j.b ? "true" : "false";
      break;
    case Json::ARRAY:
      if (j.items.empty()) {
        out += "[]";
        break;
      }
      out += "[\n";
      for (std::size_t i = 0; i < j.items.size(); i++) {
        out += pad;
        write(j.items[i], out, indent + 4);
        out += i + 1 < j.items.size() ? ",\n" : "\n";
      }
      out += std::string(indent, ' ') + "]";
      break;
    case Json::OBJECT: {
      if (j.members.empty()) {
        out += "{}";
        break;
      }
      out += "{\n";
      std::size_t i = 0;
      for (const auto &m : j.members) {
        out += pad + quote(m.first) + ": ";
        write(m.second, out, indent + 4);
        out += ++i < j.members.size() ? ",\n" : "\n";
      }
      out += std::string(indent, ' ') + "}";
      break;
    }
  }
}

std::string owned(gchar *s) {
  std::string r = s ? s : "";
  g_free(s);
  return r;
}

std::string printf_string(const gchar *format, ...) G_GNUC_PRINTF(1, 2);
std::string printf_string(const gchar *format, ...) {
  va_list args;
  va_start(args, format);
  gchar *s = g_strdup_vprintf(format, args);
  va_end(args);
  return owned(s);
}

/* Caps as the cache shows them: a structure name line, then one right-aligned
 * "field: value" line per field. */
std::string caps_text(GstCaps *caps) {
  if (gst_caps_is_any(caps))
    return "ANY";
  if (gst_caps_is_empty(caps))
    return "EMPTY";
  std::string out;
  for (guint i = 0; i < gst_caps_get_size(caps); i++) {
    GstStructure *st = gst_caps_get_structure(caps, i);
    GstCapsFeatures *features = gst_caps_get_features(caps, i);
    if (i > 0)
      out += "\n";
    out += gst_structure_get_name(st);
    if (features != nullptr &&
        (gst_caps_features_is_any(features) ||
         !gst_caps_features_is_equal(features, GST_CAPS_FEATURES_MEMORY_SYSTEM_MEMORY)))
      out += "(" + owned(gst_caps_features_to_string(features)) + ")";
    out += ":\n";
    for (gint f = 0; f < gst_structure_n_fields(st); f++) {
      const gchar *field = gst_structure_nth_field_name(st, f);
      std::string value = owned(gst_value_serialize(gst_structure_get_value(st, field)));
      if (g_str_equal(field, "format") || g_str_equal(field, "rate")) {
        /* "(string)S16LE" -> "S16LE" */
        for (std::size_t p; (p = value.find("(string)")) != std::string::npos;)
          value.erase(p, 8);
      }
      out += printf_string("%15s: %s\n", field, value.c_str());
    }
  }
  return out;
}

Json enum_or_flags_type(GType type) {
  Json t;
  t["kind"] = Json::s(G_TYPE_IS_ENUM(type) ? "enum" : "flags");
  Json values = Json::array();
  GTypeClass *klass = static_cast<GTypeClass *>(g_type_class_ref(type));
  if (G_TYPE_IS_ENUM(type)) {
    GEnumClass *e = G_ENUM_CLASS(klass);
    for (guint i = 0; i < e->n_values; i++) {
      Json v;
      v["name"] = Json::s(e->values[i].value_nick);
      v["desc"] = Json::s(e->values[i].value_name);
      v["value"] = Json::s(std::to_string(e->values[i].value));
      values.items.push_back(v);
    }
  } else {
    GFlagsClass *fl = G_FLAGS_CLASS(klass);
    for (guint i = 0; i < fl->n_values; i++) {
      Json v;
      v["name"] = Json::s(fl->values[i].value_nick);
      v["desc"] = Json::s(fl->values[i].value_name);
      v["value"] = Json::s(printf_string("0x%08x", fl->values[i].value));
      values.items.push_back(v);
    }
  }
  g_type_class_unref(klass);
  t["values"] = values;
  return t;
}

Json property(GObject *object, GParamSpec *spec, Json &other_types) {
  Json p;
  p["blurb"] = Json::s(g_param_spec_get_blurb(spec) ? g_param_spec_get_blurb(spec) : "");
  p["construct"] = Json::boolean(spec->flags & G_PARAM_CONSTRUCT);
  p["construct-only"] = Json::boolean(spec->flags & G_PARAM_CONSTRUCT_ONLY);
  p["readable"] = Json::boolean(spec->flags & G_PARAM_READABLE);
  p["writable"] = Json::boolean(spec->flags & G_PARAM_WRITABLE);
  p["controllable"] = Json::boolean(spec->flags & GST_PARAM_CONTROLLABLE);
  p["conditionally-available"] =
      Json::boolean(spec->flags & GST_PARAM_CONDITIONALLY_AVAILABLE);
  p["mutable"] = Json::s((spec->flags & GST_PARAM_MUTABLE_PLAYING)  ? "playing"
                         : (spec->flags & GST_PARAM_MUTABLE_PAUSED) ? "paused"
                         : (spec->flags & GST_PARAM_MUTABLE_READY)  ? "ready"
                                                                    : "null");
  p["type"] = Json::s(g_type_name(spec->value_type));

  /* The default is what a new instance holds, as the scanner reports it. */
  GValue v = G_VALUE_INIT;
  g_value_init(&v, spec->value_type);
  if ((spec->flags & G_PARAM_READABLE) && !(spec->flags & GST_PARAM_DOC_SHOW_DEFAULT))
    g_object_get_property(object, spec->name, &v);
  else
    g_param_value_set_default(spec, &v);

  switch (G_TYPE_FUNDAMENTAL(spec->value_type)) {
    case G_TYPE_STRING:
      p["default"] = Json::s(g_value_get_string(&v) ? g_value_get_string(&v) : "NULL");
      break;
    case G_TYPE_BOOLEAN:
      p["default"] = Json::s(g_value_get_boolean(&v) ? "true" : "false");
      break;
    case G_TYPE_UINT: {
      GParamSpecUInt *s = G_PARAM_SPEC_UINT(spec);
      p["default"] = Json::s(std::to_string(g_value_get_uint(&v)));
      p["min"] = Json::s(std::to_string(s->minimum));
      p["max"] = Json::s(std::to_string(s->maximum));
      break;
    }
    case G_TYPE_INT: {
      GParamSpecInt *s = G_PARAM_SPEC_INT(spec);
      p["default"] = Json::s(std::to_string(g_value_get_int(&v)));
      p["min"] = Json::s(std::to_string(s->minimum));
      p["max"] = Json::s(std::to_string(s->maximum));
      break;
    }
    case G_TYPE_UINT64: {
      GParamSpecUInt64 *s = G_PARAM_SPEC_UINT64(spec);
      p["default"] = Json::s(std::to_string(g_value_get_uint64(&v)));
      p["min"] = Json::s(std::to_string(s->minimum));
      p["max"] = Json::s(std::to_string(s->maximum));
      break;
    }
    case G_TYPE_INT64: {
      GParamSpecInt64 *s = G_PARAM_SPEC_INT64(spec);
      p["default"] = Json::s(std::to_string(g_value_get_int64(&v)));
      p["min"] = Json::s(std::to_string(s->minimum));
      p["max"] = Json::s(std::to_string(s->maximum));
      break;
    }
    case G_TYPE_DOUBLE: {
      GParamSpecDouble *s = G_PARAM_SPEC_DOUBLE(spec);
      p["default"] = Json::s(printf_string("%g", g_value_get_double(&v)));
      p["min"] = Json::s(printf_string("%g", s->minimum));
      p["max"] = Json::s(printf_string("%g", s->maximum));
      break;
    }
    case G_TYPE_FLOAT: {
      GParamSpecFloat *s = G_PARAM_SPEC_FLOAT(spec);
      p["default"] = Json::s(printf_string("%g", g_value_get_float(&v)));
      p["min"] = Json::s(printf_string("%g", s->minimum));
      p["max"] = Json::s(printf_string("%g", s->maximum));
      break;
    }
    case G_TYPE_ENUM: {
      GEnumValue *e = g_enum_get_value(
          G_ENUM_CLASS(g_type_class_peek(spec->value_type)), g_value_get_enum(&v));
      p["default"] = Json::s(e ? printf_string("%s (%d)", e->value_nick, e->value) : "");
      other_types[g_type_name(spec->value_type)] = enum_or_flags_type(spec->value_type);
      break;
    }
    case G_TYPE_FLAGS:
      p["default"] = Json::s(printf_string("0x%08x", g_value_get_flags(&v)));
      other_types[g_type_name(spec->value_type)] = enum_or_flags_type(spec->value_type);
      break;
    default:
      if (spec->value_type == GST_TYPE_CAPS) {
        const GstCaps *caps = gst_value_get_caps(&v);
        if (caps != nullptr)
          p["default"] = Json::s(owned(gst_caps_to_string(caps)));
      } else if (spec->value_type == GST_TYPE_STRUCTURE) {
        const GstStructure *st = gst_value_get_structure(&v);
        if (st != nullptr)
          p["default"] = Json::s(owned(gst_structure_to_string(st)));
      }
      break;
  }
  g_value_unset(&v);
  return p;
}

Json signal(guint id) {
  GSignalQuery q;
  g_signal_query(id, &q);
  Json s;
  Json args = Json::array();
  for (guint i = 0; i < q.n_params; i++) {
    Json a;
    a["name"] = Json::s("arg" + std::to_string(i));
    a["type"] = Json::s(g_type_name(q.param_types[i] & ~G_SIGNAL_TYPE_STATIC_SCOPE));
    args.items.push_back(a);
  }
  s["args"] = args;
  s["return-type"] = Json::s(g_type_name(q.return_type & ~G_SIGNAL_TYPE_STATIC_SCOPE));
  if (q.signal_flags & G_SIGNAL_RUN_FIRST)
    s["when"] = Json::s("first");
  else if (q.signal_flags & G_SIGNAL_RUN_LAST)
    s["when"] = Json::s("last");
  else if (q.signal_flags & G_SIGNAL_RUN_CLEANUP)
    s["when"] = Json::s("cleanup");
  if (q.signal_flags & G_SIGNAL_NO_RECURSE)
    s["no-recurse"] = Json::boolean(true);
  if (q.signal_flags & G_SIGNAL_DETAILED)
    s["detailed"] = Json::boolean(true);
  if (q.signal_flags & G_SIGNAL_ACTION)
    s["action"] = Json::boolean(true);
  if (q.signal_flags & G_SIGNAL_NO_HOOKS)
    s["no-hooks"] = Json::boolean(true);
  return s;
}

const gchar *rank_name(guint rank) {
  switch (rank) {
    case GST_RANK_NONE:
      return "none";
    case GST_RANK_MARGINAL:
      return "marginal";
    case GST_RANK_SECONDARY:
      return "secondary";
    case GST_RANK_PRIMARY:
      return "primary";
    default:
      return nullptr;
  }
}

Json element(GstElementFactory *factory, Json &other_types) {
  Json e;
  gchar **keys = gst_element_factory_get_metadata_keys(factory);
  for (gchar **k = keys; k != nullptr && *k != nullptr; k++)
    e[*k] = Json::s(gst_element_factory_get_metadata(factory, *k));
  g_strfreev(keys);
  guint rank = gst_plugin_feature_get_rank(GST_PLUGIN_FEATURE(factory));
  e["rank"] = Json::s(rank_name(rank) ? rank_name(rank) : std::to_string(rank));

  GstElement *el = gst_element_factory_create(factory, nullptr);
  if (el == nullptr) {
    g_printerr("cannot create %s\n", GST_OBJECT_NAME(factory));
    exit(1);
  }
  const GType type = G_OBJECT_TYPE(el);
  Json hierarchy = Json::array();
  for (GType t = type; t != 0; t = g_type_parent(t))
    hierarchy.items.push_back(Json::s(g_type_name(t)));
  e["hierarchy"] = hierarchy;
  guint n_ifaces;
  GType *ifaces = g_type_interfaces(type, &n_ifaces);
  if (n_ifaces > 0) {
    Json list = Json::array();
    for (guint i = 0; i < n_ifaces; i++)
      list.items.push_back(Json::s(g_type_name(ifaces[i])));
    e["interfaces"] = list;
  }
  g_free(ifaces);

  Json templates;
  for (const GList *l = gst_element_factory_get_static_pad_templates(factory); l; l = l->next) {
    GstStaticPadTemplate *st = static_cast<GstStaticPadTemplate *>(l->data);
    GstPadTemplate *tmpl =
        gst_element_class_get_pad_template(GST_ELEMENT_GET_CLASS(el), st->name_template);
    GstCaps *caps = gst_pad_template_get_documentation_caps(tmpl);
    Json t;
    t["caps"] = Json::s(caps_text(caps));
    gst_caps_unref(caps);
    t["direction"] = Json::s(st->direction == GST_PAD_SRC    ? "src"
                             : st->direction == GST_PAD_SINK ? "sink"
                                                             : "unknown");
    t["presence"] = Json::s(st->presence == GST_PAD_ALWAYS      ? "always"
                            : st->presence == GST_PAD_SOMETIMES ? "sometimes"
                                                                : "request");
    GType pad_type = GST_PAD_TEMPLATE_GTYPE(tmpl);
    if (pad_type != G_TYPE_NONE && pad_type != GST_TYPE_PAD)
      t["type"] = Json::s(g_type_name(pad_type));
    templates[st->name_template] = t;
  }
  if (!templates.members.empty())
    e["pad-templates"] = templates;

  guint n;
  GParamSpec **specs = g_object_class_list_properties(G_OBJECT_GET_CLASS(el), &n);
  Json props;
  for (guint i = 0; i < n; i++)
    if (specs[i]->owner_type == type)
      props[specs[i]->name] = property(G_OBJECT(el), specs[i], other_types);
  g_free(specs);
  if (!props.members.empty())
    e["properties"] = props;

  guint *ids = g_signal_list_ids(type, &n);
  Json signals;
  for (guint i = 0; i < n; i++)
    signals[g_signal_name(ids[i])] = signal(ids[i]);
  g_free(ids);
  if (!signals.members.empty())
    e["signals"] = signals;

  gst_object_unref(el);
  return e;
}

}  // namespace

int main(int argc, char **argv) {
  gst_init(&argc, &argv);
  const gchar *name = argc > 1 ? argv[1] : "agentaudio";
  GstPlugin *plugin = gst_registry_find_plugin(gst_registry_get(), name);
  if (plugin == nullptr) {
    g_printerr("no plugin %s on the plugin path (GST_PLUGIN_PATH)\n", name);
    return 1;
  }

  Json p;
  p["description"] = Json::s(gst_plugin_get_description(plugin));
  std::string file = owned(g_path_get_basename(gst_plugin_get_filename(plugin)));
  std::size_t dot = file.find('.');
  if (dot != std::string::npos)
    file.erase(dot);
  if (file.rfind("lib", 0) == 0)
    file.erase(0, 3);
  p["filename"] = Json::s(file);
  p["license"] = Json::s(gst_plugin_get_license(plugin));
  p["package"] = Json::s(gst_plugin_get_package(plugin));
  p["source"] = Json::s(gst_plugin_get_source(plugin));
  p["url"] = Json::s(gst_plugin_get_origin(plugin));
  p["tracers"] = Json();
  Json other_types;
  Json elements;
  GList *features =
      gst_registry_get_feature_list_by_plugin(gst_registry_get(), gst_plugin_get_name(plugin));
  for (GList *l = features; l != nullptr; l = l->next)
    if (GST_IS_ELEMENT_FACTORY(l->data)) {
      GstElementFactory *f = GST_ELEMENT_FACTORY(
          gst_plugin_feature_load(GST_PLUGIN_FEATURE(l->data)));
      elements[GST_OBJECT_NAME(f)] = element(f, other_types);
      gst_object_unref(f);
    }
  gst_plugin_feature_list_free(features);
  p["elements"] = elements;
  p["other-types"] = other_types;

  Json cache;
  cache[gst_plugin_get_name(plugin)] = p;
  std::string out;
  write(cache, out, 0);
  out += "\n";
  fwrite(out.data(), 1, out.size(), stdout);
  gst_object_unref(plugin);
  return 0;
}
