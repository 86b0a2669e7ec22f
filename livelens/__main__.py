import sys

from livelens.cli import main

sys.exit(main())
