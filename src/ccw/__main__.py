from ccw.cli.app import main

main()
