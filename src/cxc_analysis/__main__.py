import sys

from cxc_analysis.cli.main import main

sys.exit(main())
