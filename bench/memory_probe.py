#!/usr/bin/python3
"""RSS of one agentaudiosrc around a large float push (issue 18 item 4).

Pushes SECONDS of F32LE 24 kHz mono speech in one buffer, then reads the
process's RSS: queued, after interrupt, after READY, after NULL. Run with
GST_PLUGIN_PATH pointing at the plugin to measure:
  GST_PLUGIN_PATH=builddir/gst/agentaudio /usr/bin/python3 bench/memory_probe.py
"""
import sys

import gi

gi.require_version("Gst", "1.0")
from gi.repository import Gst  # noqa: E402

SECONDS = float(sys.argv[1]) if len(sys.argv) > 1 else 2083.0  # 200 MB of F32 at 24 kHz


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return 0.0


Gst.init(None)
pipeline = Gst.parse_launch("agentaudiosrc name=a ! fakesink")
agent = pipeline.get_by_name("a")
agent.set_property("speech-caps", Gst.Caps.from_string(
    "audio/x-raw,format=F32LE,layout=interleaved,rate=24000,channels=1"))
pipeline.set_state(Gst.State.PAUSED)
pipeline.get_state(Gst.CLOCK_TIME_NONE)
print(f"start          {rss_mb():7.1f} MB")
frames = int(SECONDS * 24000)
buf = Gst.Buffer.new_allocate(None, frames * 4, None)
buf.memset(0, 0, frames * 4)
print(f"buffer made    {rss_mb():7.1f} MB ({frames * 4 / 1e6:.0f} MB pushed)")
assert agent.emit("push-speech", buf) == Gst.FlowReturn.OK
del buf
print(f"queued         {rss_mb():7.1f} MB")
agent.emit("interrupt")
print(f"interrupt      {rss_mb():7.1f} MB")
pipeline.set_state(Gst.State.READY)
pipeline.get_state(Gst.CLOCK_TIME_NONE)
print(f"READY          {rss_mb():7.1f} MB")
pipeline.set_state(Gst.State.NULL)
print(f"NULL           {rss_mb():7.1f} MB")
