from litmon.cli import main

main()
