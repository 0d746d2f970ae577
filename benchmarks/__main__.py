"""``python -m benchmarks``: the comparison runner (same as ``gpuresample bench``)."""

import sys

from gpuresample.bench import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
