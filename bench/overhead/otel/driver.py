"""The Python driver with an OpenTelemetry SDK span around each call (batch processor, null
exporter): the tracer the Python runtime is compared with."""

import sys
import time

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult


class NullExporter(SpanExporter):
    def export(self, spans):
        return SpanExportResult.SUCCESS


provider = TracerProvider()
provider.add_span_processor(BatchSpanProcessor(NullExporter()))
tracer = provider.get_tracer("overhead")


def tiny(x):
    with tracer.start_as_current_span("tiny"):
        return x + 1


def run(n):
    t0 = time.perf_counter_ns()
    x = 0
    for _ in range(n):
        x = tiny(x)
    return time.perf_counter_ns() - t0, x


if __name__ == "__main__":
    n = int(sys.argv[1])
    ns, x = run(n)
    assert x == n
    provider.shutdown()
    print(ns / n)
