from localglobus.cli import main

raise SystemExit(main())
