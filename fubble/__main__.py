from fubble.cli import main

main()
