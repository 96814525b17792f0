import sys

from cockpit.cli import main

if __name__ == "__main__":  # not when a verify helper process (spawn) imports it as __mp_main__
    sys.exit(main())
