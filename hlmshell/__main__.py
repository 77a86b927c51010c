from hlmshell.cli import main

raise SystemExit(main())
