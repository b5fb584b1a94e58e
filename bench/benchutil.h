/* agentaudiosrc
 * Copyright (C) 2026 agentaudiosrc authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * What the benchmarks read of the machine and of their own process, once for
 * all of them: memory (/proc/self/status), CPU time (getrusage), the CPU
 * model and kernel, a JSON string escape; and making and linking elements,
 * which a benchmark cannot do without.
 */
#pragma once

#include <gst/gst.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>

namespace benchutil {

/* A "Key:  123 kB" line of /proc/self/status (VmRSS, VmHWM...), KiB; -1 if absent. */
inline long read_status_kib(const char *key) {
  std::ifstream f("/proc/self/status");
  std::string line;
  const std::size_t n = std::strlen(key);
  while (std::getline(f, line)) {
    if (line.compare(0, n, key) == 0 && line.size() > n && line[n] == ':')
      return std::strtol(line.c_str() + n + 1, nullptr, 10);
  }
  return -1;
}

inline std::string read_first_line(const char *path) {
  std::ifstream f(path);
  std::string line;
  std::getline(f, line);
  return line;
}

inline std::string cpu_model() {
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line)) {
    if (line.compare(0, 10, "model name") == 0) {
      std::size_t c = line.find(':');
      return c == std::string::npos ? line : line.substr(c + 2);
    }
  }
  return "unknown";
}

/* For strings the benchmarks write into JSON: quotes and backslashes
 * escaped, control characters as spaces. */
inline std::string json_escape(const std::string &s) {
  std::string o;
  for (char c : s) {
    if (c == '"' || c == '\\') {
      o += '\\';
      o += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      o += ' ';
    } else {
      o += c;
    }
  }
  return o;
}

/* This process's CPU time, user + system, seconds. */
inline double cpu_seconds() {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

inline void sleep_s(double s) {
  std::this_thread::sleep_for(std::chrono::duration<double>(s));
}

/* The name errors are said under: the benchmark's (set before make()). */
inline const char *&program() {
  static const char *name = "bench";
  return name;
}

inline GstElement *make(const char *factory) {
  GstElement *e = gst_element_factory_make(factory, nullptr);
  if (e == nullptr) {
    g_printerr("%s: no element '%s' (GST_PLUGIN_PATH?)\n", program(), factory);
    std::exit(1);
  }
  return e;
}

inline void link_or_die(GstElement *a, GstElement *b) {
  if (!gst_element_link(a, b)) {
    g_printerr("%s: cannot link %s to %s\n", program(), GST_ELEMENT_NAME(a),
               GST_ELEMENT_NAME(b));
    std::exit(1);
  }
}

}  // namespace benchutil
