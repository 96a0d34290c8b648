from cpss.cli import main

main()
