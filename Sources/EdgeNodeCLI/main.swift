import EdgeNode

EdgeNodeCommand.main()
