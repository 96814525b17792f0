"""The Textual shell: screens and widgets only; every action calls the core (cockpit.core)."""
