from teambot.cli import main

raise SystemExit(main())
