import sys

from qnom.cli import main

sys.exit(main())
