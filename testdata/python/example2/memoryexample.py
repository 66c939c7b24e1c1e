# Import memory_profiler module
from memory_profiler import profile
# Importing request module in the program
import requests
# Creating a base extractor class
class baseExtr:
	# Using profile decorator for monitoring memory usage
	@profile
	# Default function for parsing words from list
	def parseList(self, array):
		# Creating a file type object in the system
		sampleFile = open('wordParsing.txt', 'w')
		# Looping over the file with for loop
		for parsedWords in array:
			# Writing words in the example file
			sampleFile.writelines(parsedWords)
	@profile
	# Another default function for fetching URL
	def parseURL(self, url):
		# Fetching response from the file
		response = requests.get(url).text
		with open('url.txt', 'w') as sampleFile:
			# Writing fetched responses in the example file
			sampleFile.writelines(response)
