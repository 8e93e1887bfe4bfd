import sys

from dream_backup.cli import main

sys.exit(main())
