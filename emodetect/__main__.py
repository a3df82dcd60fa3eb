from emodetect.cli import main

raise SystemExit(main())
