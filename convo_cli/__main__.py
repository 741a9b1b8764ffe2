from convo_cli.main import main

main()
