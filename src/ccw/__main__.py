from ccw.cli.entry import main

main()
