"""Showroom desktop app entry point. Everything happens in ui.app; this stays thin."""

import sys


def main() -> int:
    from ui.app import main as run

    return run()


if __name__ == "__main__":
    sys.exit(main())
