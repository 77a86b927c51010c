from hlmshell.shell.cli import main

raise SystemExit(main())
