import sys

from cockpit.cli import main

if __name__ == "__main__":  # `python -m cockpit`; importing the module runs nothing
    sys.exit(main())
