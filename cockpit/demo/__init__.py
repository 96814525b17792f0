"""The embedded demo target for `cockpit demo` and the tests: loopback HTTP server + scratch folder."""

from cockpit.demo.target import DEMO_READ_TOKEN, DEMO_TOKEN, DemoTarget

__all__ = ["DEMO_READ_TOKEN", "DEMO_TOKEN", "DemoTarget"]
